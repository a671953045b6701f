package store

import (
	"bytes"
	"encoding/binary"
	"time"
)

// MessageCount returns how many messages are in the state, from the
// outbox_state queue (state NUL id): it reads keys, never a message.
func (t *tx) MessageCount(state string) (int, error) {
	prefix := []byte(state + "\x00")
	n := 0
	c := t.bucket(bucketOutboxState).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n, nil
}

// DueMessageCount returns how many pending messages are due at now, from
// the outbox_pending queue, which is in order of due time: it reads keys
// up to now, never a message.
func (t *tx) DueMessageCount(now time.Time) (int, error) {
	limit := uint64(now.UnixNano())
	n := 0
	c := t.bucket(bucketOutboxPending).Cursor()
	for k, _ := c.First(); k != nil && len(k) >= 8 && binary.BigEndian.Uint64(k[:8]) <= limit; k, _ = c.Next() {
		n++
	}
	return n, nil
}
