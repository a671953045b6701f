package store

import "bytes"

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
