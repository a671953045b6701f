package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// tx is one bbolt transaction seen in the engine's terms.
type tx struct {
	btx *bolt.Tx
	// cache holds decoded dossiers and calls shared by every transaction.
	cache *caches
	// opt is set in the first half of an optimistic write (see
	// optimistic): reads are recorded, writes buffered.
	opt *optimistic
	// wrote is set by every write, so Update knows whether a refusal left
	// writes behind.
	wrote bool
	// heads and bodies hold what this transaction last read or wrote of
	// each dossier (see dossier.go), so that rewriting a dossier it has
	// just read neither reads its records again nor writes a part that did
	// not change.
	heads  map[string]headKeys
	bodies map[string]*bodyRead
}

var _ engine.Tx = (*tx)(nil)

// kv is a bucket as the transaction's methods use it: bbolt's, or the
// snapshot's in the first half of an optimistic write.
type kv interface {
	Get(key []byte) []byte
	Put(key, value []byte) error
	Delete(key []byte) error
	Cursor() *bolt.Cursor
	ForEach(fn func(k, v []byte) error) error
}

// bucket is the named bucket, through which every read and write of the
// transaction's methods goes.
func (t *tx) bucket(name []byte) kv {
	b := t.btx.Bucket(name)
	if t.opt == nil {
		return b
	}
	return &optBucket{name: name, b: b, opt: t.opt}
}

// userRecord keeps the password hash, which engine.User never serialises.
type userRecord struct {
	*engine.User
	PasswordHash string `json:"password_hash"`
}

func (t *tx) get(bucket []byte, key string, v any, what string) error {
	raw := t.bucket(bucket).Get([]byte(key))
	if raw == nil {
		return engine.Errorf(engine.ENOTFOUND, "No such %s.", what)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", what, key, err)
	}
	return nil
}

func (t *tx) put(bucket []byte, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	t.wrote = true
	return t.bucket(bucket).Put([]byte(key), raw)
}

// Call returns the call. Returns ENOTFOUND if there is none.
func (t *tx) Call(id string) (*engine.Call, error) {
	raw := t.bucket(bucketCalls).Get([]byte(id))
	if raw == nil {
		return nil, engine.Errorf(engine.ENOTFOUND, "No such call.")
	}
	return t.decodeCall(id, raw)
}

// decodeCall decodes a stored call, or copies the one kept decoded from
// the same bytes. Every dossier's rules need its call, so every request
// reads one.
func (t *tx) decodeCall(id string, raw []byte) (*engine.Call, error) {
	if c, ok := t.cache.calls.get(id, raw); ok {
		return c, nil
	}
	var c engine.Call
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("decode call %q: %w", id, err)
	}
	t.cache.calls.put(id, bytes.Clone(raw), &c)
	return &c, nil
}

// Calls returns every call, by id.
func (t *tx) Calls() ([]*engine.Call, error) {
	calls := []*engine.Call{}
	err := t.bucket(bucketCalls).ForEach(func(k, v []byte) error {
		c, err := t.decodeCall(string(k), v)
		if err != nil {
			return err
		}
		calls = append(calls, c)
		return nil
	})
	return calls, err
}

// PutCall stores the call.
func (t *tx) PutCall(c *engine.Call) error { return t.put(bucketCalls, c.ID, c) }

// historyKey is the dossier id then the sequence number, big-endian, so a
// dossier's events are contiguous and in order.
func historyKey(appID string, seq uint64) []byte {
	k := make([]byte, len(appID)+8)
	copy(k, appID)
	binary.BigEndian.PutUint64(k[len(appID):], seq)
	return k
}

// AppendHistory appends ev after the dossier's last event.
func (t *tx) AppendHistory(appID string, ev *engine.HistoryEvent) error {
	seq := t.nextHistorySeq(appID)
	ev.Seq = int(seq)
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	t.wrote = true
	return t.bucket(bucketHistory).Put(historyKey(appID, seq), raw)
}

// History returns the dossier's events, oldest first.
func (t *tx) History(appID string) ([]engine.HistoryEvent, error) {
	events := []engine.HistoryEvent{}
	c := t.bucket(bucketHistory).Cursor()
	prefix := []byte(appID)
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+8 {
			continue
		}
		var ev engine.HistoryEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			return nil, fmt.Errorf("decode history of %s: %w", appID, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// User returns the account. Returns ENOTFOUND if there is none.
func (t *tx) User(id string) (*engine.User, error) {
	rec := userRecord{User: &engine.User{}}
	if err := t.get(bucketUsers, id, &rec, "account"); err != nil {
		return nil, err
	}
	rec.User.PasswordHash = rec.PasswordHash
	return rec.User, nil
}

// UserByEmail returns the account. Returns ENOTFOUND if there is none.
func (t *tx) UserByEmail(email string) (*engine.User, error) {
	id := t.bucket(bucketEmails).Get([]byte(email))
	if id == nil {
		return nil, engine.Errorf(engine.ENOTFOUND, "No such account.")
	}
	return t.User(string(id))
}

// Users returns every account, by id.
func (t *tx) Users() ([]*engine.User, error) {
	users := []*engine.User{}
	err := t.bucket(bucketUsers).ForEach(func(k, _ []byte) error {
		u, err := t.User(string(k))
		if err != nil {
			return err
		}
		users = append(users, u)
		return nil
	})
	return users, err
}

// PutUser stores the account, its e-mail entry and its entry in the index
// by role and place (users_by), moving the entries the stored record had.
func (t *tx) PutUser(u *engine.User) error {
	emails := t.bucket(bucketEmails)
	if owner := emails.Get([]byte(u.Email)); owner != nil && string(owner) != u.ID {
		return engine.Errorf(engine.ECONFLICT, "An account with this e-mail exists already.")
	}
	// Only now: a refusal that wrote nothing is answered without failing
	// the other writes of its commit (see Update).
	t.wrote = true
	byPlace := t.bucket(bucketUsersBy)
	next := userIndexKey(u)
	if old, err := t.User(u.ID); err == nil {
		if old.Email != u.Email {
			if err := emails.Delete([]byte(old.Email)); err != nil {
				return err
			}
		}
		if prev := userIndexKey(old); !bytes.Equal(prev, next) {
			if err := byPlace.Delete(prev); err != nil {
				return err
			}
		}
	}
	if err := t.put(bucketUsers, u.ID, userRecord{User: u, PasswordHash: u.PasswordHash}); err != nil {
		return err
	}
	if err := byPlace.Put(next, []byte(u.ID)); err != nil {
		return err
	}
	return emails.Put([]byte(u.Email), []byte(u.ID))
}

// Session returns the session. Returns ENOTFOUND if there is none.
func (t *tx) Session(tokenHash string) (*engine.Session, error) {
	var s engine.Session
	if err := t.get(bucketSessions, tokenHash, &s, "session"); err != nil {
		return nil, err
	}
	return &s, nil
}

// PutSession stores the session and its entry under its account.
func (t *tx) PutSession(s *engine.Session) error {
	t.wrote = true
	if err := t.bucket(bucketUserSessions).Put([]byte(s.UserID+s.TokenHash), nil); err != nil {
		return err
	}
	return t.put(bucketSessions, s.TokenHash, s)
}

// DeleteSession removes the session.
func (t *tx) DeleteSession(tokenHash string) error {
	s, err := t.Session(tokenHash)
	if engine.ErrorCode(err) == engine.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	// Marked only once there is something to delete (see PutUser).
	t.wrote = true
	if err := t.bucket(bucketUserSessions).Delete([]byte(s.UserID + tokenHash)); err != nil {
		return err
	}
	return t.bucket(bucketSessions).Delete([]byte(tokenHash))
}

// DeleteSessionsOf removes every session of the account.
func (t *tx) DeleteSessionsOf(userID string) error {
	c := t.bucket(bucketUserSessions).Cursor()
	prefix := []byte(userID)
	var hashes []string
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		hashes = append(hashes, string(k[len(prefix):]))
	}
	for _, h := range hashes {
		if err := t.DeleteSession(h); err != nil {
			return err
		}
	}
	return nil
}

func assignmentKey(appID, evaluatorID string) []byte { return []byte(appID + "\x00" + evaluatorID) }

// Assignments returns the dossier's evaluators.
func (t *tx) Assignments(appID string) ([]engine.Assignment, error) {
	out := []engine.Assignment{}
	c := t.bucket(bucketAssignments).Cursor()
	prefix := []byte(appID + "\x00")
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var a engine.Assignment
		if err := json.Unmarshal(v, &a); err != nil {
			return nil, fmt.Errorf("decode assignment %q: %w", k, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// PutAssignment stores the assignment and its evaluator index entry.
func (t *tx) PutAssignment(a engine.Assignment) error {
	t.wrote = true
	if err := t.bucket(bucketIndex).Put(append(indexPrefix(idxEvaluator, a.Evaluator), a.Application...), nil); err != nil {
		return err
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return t.bucket(bucketAssignments).Put(assignmentKey(a.Application, a.Evaluator), raw)
}

// DeleteAssignment removes the assignment and its index entry.
func (t *tx) DeleteAssignment(appID, evaluatorID string) error {
	t.wrote = true
	if err := t.bucket(bucketIndex).Delete(append(indexPrefix(idxEvaluator, evaluatorID), appID...)); err != nil {
		return err
	}
	return t.bucket(bucketAssignments).Delete(assignmentKey(appID, evaluatorID))
}

// AppendAudit stores audit events under their ids.
func (t *tx) AppendAudit(events []engine.AuditEvent) error {
	t.wrote = true
	b := t.bucket(bucketAudit)
	for _, ev := range events {
		raw, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(ev.ID), raw); err != nil {
			return err
		}
	}
	return nil
}

// Audit returns up to limit events before the cursor, newest first.
func (t *tx) Audit(before string, limit int) ([]engine.AuditEvent, string, error) {
	out := []engine.AuditEvent{}
	c := t.bucket(bucketAudit).Cursor()
	var k, v []byte
	if before == "" {
		k, v = c.Last()
	} else if k, _ = c.Seek([]byte(before)); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil; k, v = c.Prev() {
		if len(out) == limit {
			return out, out[limit-1].ID, nil
		}
		var ev engine.AuditEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			return nil, "", fmt.Errorf("decode audit event %q: %w", k, err)
		}
		out = append(out, ev)
	}
	return out, "", nil
}
