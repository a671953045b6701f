package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"designate/engine"
)

// The outbox: messages by id in bucketOutbox, and three queues kept in step
// by PutMessage so no reader scans every message: pending ones by due time
// (8-byte big-endian Unix nanoseconds, then the id), held ones by call (call,
// NUL, id), and every message by state (state, NUL, id) for the admin's list.
var (
	bucketOutbox        = []byte("outbox")
	bucketOutboxPending = []byte("outbox_pending")
	bucketOutboxHeld    = []byte("outbox_held")
	bucketOutboxState   = []byte("outbox_state")
)

func pendingKey(m *engine.Message) []byte {
	k := make([]byte, 8, 8+len(m.ID))
	binary.BigEndian.PutUint64(k, uint64(m.NextAttempt.UnixNano()))
	return append(k, m.ID...)
}

func heldKey(m *engine.Message) []byte  { return []byte(m.Call + "\x00" + m.ID) }
func stateKey(m *engine.Message) []byte { return []byte(m.State + "\x00" + m.ID) }

// Message returns the message.
func (t *tx) Message(id string) (*engine.Message, error) {
	var m engine.Message
	if err := t.get(bucketOutbox, id, &m, "message"); err != nil {
		return nil, err
	}
	return &m, nil
}

// PutMessage stores the message and moves it between the queues.
func (t *tx) PutMessage(m *engine.Message) error {
	t.wrote = true
	if raw := t.bucket(bucketOutbox).Get([]byte(m.ID)); raw != nil {
		var old engine.Message
		if err := json.Unmarshal(raw, &old); err != nil {
			return fmt.Errorf("decode message %s: %w", m.ID, err)
		}
		if err := t.bucket(bucketOutboxPending).Delete(pendingKey(&old)); err != nil {
			return err
		}
		if err := t.bucket(bucketOutboxHeld).Delete(heldKey(&old)); err != nil {
			return err
		}
		if err := t.bucket(bucketOutboxState).Delete(stateKey(&old)); err != nil {
			return err
		}
	}
	switch m.State {
	case engine.MessagePending:
		if err := t.bucket(bucketOutboxPending).Put(pendingKey(m), nil); err != nil {
			return err
		}
	case engine.MessageHeld:
		if err := t.bucket(bucketOutboxHeld).Put(heldKey(m), nil); err != nil {
			return err
		}
	}
	if err := t.bucket(bucketOutboxState).Put(stateKey(m), nil); err != nil {
		return err
	}
	return t.put(bucketOutbox, m.ID, m)
}

// PendingMessages returns pending messages due at now, soonest first.
func (t *tx) PendingMessages(now time.Time, limit int) ([]*engine.Message, error) {
	var out []*engine.Message
	c := t.bucket(bucketOutboxPending).Cursor()
	for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) > now.UnixNano() {
			break
		}
		m, err := t.Message(string(k[8:]))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// HeldMessages returns the call's held messages.
func (t *tx) HeldMessages(callID string) ([]*engine.Message, error) {
	var out []*engine.Message
	p := []byte(callID + "\x00")
	c := t.bucket(bucketOutboxHeld).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		m, err := t.Message(string(k[len(p):]))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Messages returns up to limit messages in the state, newest first (ids
// sort by creation time).
func (t *tx) Messages(state string, limit int) ([]*engine.Message, error) {
	var out []*engine.Message
	if state == "" {
		c := t.bucket(bucketOutbox).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var m engine.Message
			if err := json.Unmarshal(v, &m); err != nil {
				return nil, fmt.Errorf("decode message %s: %w", k, err)
			}
			out = append(out, &m)
		}
		return out, nil
	}
	p := []byte(state + "\x00")
	c := t.bucket(bucketOutboxState).Cursor()
	// The last key under the prefix: seek past it and step back.
	k, _ := c.Seek(append([]byte(state), 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, _ = c.Prev() {
		m, err := t.Message(string(k[len(p):]))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
