package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// bucketTally counts the dossiers of each call by state and field: key call
// NUL state NUL field, value a big-endian uint64. Only dossiers submitted at
// least once are counted: the staff's lists show no others, and the board
// and the lists must agree. PutApplication keeps it in
// step in the same transaction, so the secretariat's board reads a handful
// of keys instead of every dossier.
var bucketTally = []byte("tally")

func tallyKey(a *engine.Summary) []byte {
	if !a.LeftDraft() {
		return nil
	}
	k := make([]byte, 0, len(a.Call)+len(a.State)+len(a.Field)+2)
	k = append(k, a.Call...)
	k = append(k, 0)
	k = append(k, a.State...)
	k = append(k, 0)
	return append(k, a.Field...)
}

// addTally adds delta to the count under key, deleting a count that falls
// to zero so the bucket holds only what exists.
func addTally(b kv, key []byte, delta int64) error {
	if key == nil {
		return nil
	}
	if o, ok := b.(*optBucket); ok {
		o.opt.tally[string(key)] += delta
		return nil
	}
	var n int64
	if v := b.Get(key); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n < 0 {
		return fmt.Errorf("tally %q would fall below zero", key)
	}
	if n == 0 {
		return b.Delete(key)
	}
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, uint64(n))
	return b.Put(key, v)
}

// Tally returns the call's counts by state and field.
func (t *tx) Tally(callID string) ([]engine.Count, error) {
	var out []engine.Count
	p := append([]byte(callID), 0)
	if t.btx.Bucket(bucketTally) == nil {
		return nil, fmt.Errorf("this database has no tally yet: open it once with the server to migrate it")
	}
	c := t.bucket(bucketTally).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		state, field, ok := bytes.Cut(k[len(p):], []byte{0})
		if !ok || len(v) != 8 {
			return nil, fmt.Errorf("bad tally key %q", k)
		}
		out = append(out, engine.Count{State: engine.State(state), Field: string(field), N: int(binary.BigEndian.Uint64(v))})
	}
	return out, nil
}

// buildTally counts every stored dossier: the migration for a database
// written before the tally existed, and the reference the check compares
// the tally against.
func buildTally(btx *bolt.Tx) (map[string]int64, error) {
	counts := map[string]int64{}
	err := btx.Bucket(bucketApps).ForEach(func(k, v []byte) error {
		// A head, or a whole record of schema 2 or older: both hold the
		// head's fields at the top.
		var a engine.Summary
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode dossier %s: %w", k, err)
		}
		if k := tallyKey(&a); k != nil {
			counts[string(k)]++
		}
		return nil
	})
	return counts, err
}

// writeTally replaces the tally bucket's contents with counts.
func writeTally(btx *bolt.Tx, counts map[string]int64) error {
	if btx.Bucket(bucketTally) != nil {
		if err := btx.DeleteBucket(bucketTally); err != nil {
			return err
		}
	}
	b, err := btx.CreateBucket(bucketTally)
	if err != nil {
		return err
	}
	for k, n := range counts {
		if err := addTally(b, []byte(k), n); err != nil {
			return err
		}
	}
	return nil
}
