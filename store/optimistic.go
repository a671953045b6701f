package store

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// A write runs twice over, in two halves, so that the committer, which runs
// writes one after the other, spends microseconds on each instead of the
// whole rule check, decode and encode of a 22 KB dossier:
//
//  1. Outside the lock, on a read-only snapshot, the engine's function runs
//     with its reads recorded (bucket, key and the bytes it saw) and its
//     writes buffered, already encoded. Many run at once on every core.
//  2. In the committer's transaction, the reads are compared with what is
//     stored now. If every one is unchanged, the function would decide
//     exactly the same now, so its buffered writes are applied as they are.
//     If one changed (another write got there first), the function runs
//     again under the lock, as every write did before.
//
// This is optimistic concurrency control with backward validation; the
// result is the same as running every function under the lock in commit
// order. A function that scans (a cursor over a range) cannot have its
// reads re-checked key by key: the scan marks the first half, whose outcome
// is then dropped, and the function runs under the lock from the start. The
// hot writes of a deadline (save, submit, retract, a review) read single
// keys only.

// optimistic is what the first half recorded.
type optimistic struct {
	reads []readRecord
	// lasts are the last-key lookups of histories.
	lasts []lastRecord
	// writes are the buffered puts and deletes, in order; written maps a
	// bucket and key to its last write, so the function reads its own
	// writes.
	writes  []writeRecord
	written map[string]int
	// tally holds the tally's changes as deltas, applied to the counts as
	// they are at commit: every submission changes the same few counts, and
	// a read of them would make every two submissions conflict.
	tally map[string]int64
	// seqs are the history sequence numbers this run gave out, by dossier.
	seqs map[string]uint64
	// keep are the decoded records to cache once the writes are applied.
	keep []func()
	// scanned is set by a cursor or ForEach: the function's outcome is
	// dropped whatever it is, and it runs again under the lock. A mark
	// rather than a panic, so a function that recovers panics, or swallows
	// an error, cannot carry a snapshot's answer past it.
	scanned bool
}

type readRecord struct {
	bucket, key, value []byte // value nil: absent
}

type lastRecord struct {
	appID string
	key   []byte
}

type writeRecord struct {
	bucket, key, value []byte
	del                bool
}

func newOptimistic() *optimistic {
	return &optimistic{written: map[string]int{}, tally: map[string]int64{}, seqs: map[string]uint64{}}
}

func writtenKey(bucket, key []byte) string { return string(bucket) + "\x00" + string(key) }

// optBucket is a bucket of the snapshot as the first half sees it.
type optBucket struct {
	name []byte
	b    *bolt.Bucket
	opt  *optimistic
}

// Get reads the function's own write, or the snapshot, recording what it
// saw.
func (o *optBucket) Get(key []byte) []byte {
	if i, ok := o.opt.written[writtenKey(o.name, key)]; ok {
		w := o.opt.writes[i]
		if w.del {
			return nil
		}
		return w.value
	}
	v := o.b.Get(key)
	rec := readRecord{bucket: o.name, key: bytes.Clone(key)}
	if v != nil {
		// The snapshot's bytes live only as long as its transaction.
		rec.value = bytes.Clone(v)
	}
	o.opt.reads = append(o.opt.reads, rec)
	return v
}

func (o *optBucket) Put(key, value []byte) error {
	return o.buffer(writeRecord{bucket: o.name, key: bytes.Clone(key), value: bytes.Clone(value)})
}

func (o *optBucket) Delete(key []byte) error {
	return o.buffer(writeRecord{bucket: o.name, key: bytes.Clone(key), del: true})
}

func (o *optBucket) buffer(w writeRecord) error {
	o.opt.written[writtenKey(w.bucket, w.key)] = len(o.opt.writes)
	o.opt.writes = append(o.opt.writes, w)
	return nil
}

// Cursor scans: the function must run under the lock. The cursor goes
// over the snapshot, without the function's own writes, so the function
// goes on safely to an outcome that is dropped.
func (o *optBucket) Cursor() *bolt.Cursor {
	o.opt.scanned = true
	return o.b.Cursor()
}

// ForEach scans, as Cursor does.
func (o *optBucket) ForEach(fn func(k, v []byte) error) error {
	o.opt.scanned = true
	return o.b.ForEach(fn)
}

// valid reports whether everything the first half read is still as it
// read it, in btx.
func (opt *optimistic) valid(btx *bolt.Tx) bool {
	for _, r := range opt.reads {
		v := btx.Bucket(r.bucket).Get(r.key)
		if (v == nil) != (r.value == nil) || !bytes.Equal(v, r.value) {
			return false
		}
	}
	for _, l := range opt.lasts {
		if !bytes.Equal(lastHistoryKey(btx.Bucket(bucketHistory), l.appID), l.key) {
			return false
		}
	}
	return true
}

// apply writes what the first half buffered.
func (opt *optimistic) apply(btx *bolt.Tx) error {
	for _, w := range opt.writes {
		b := btx.Bucket(w.bucket)
		var err error
		if w.del {
			err = b.Delete(w.key)
		} else {
			err = b.Put(w.key, w.value)
		}
		if err != nil {
			return err
		}
	}
	tally := btx.Bucket(bucketTally)
	for k, delta := range opt.tally {
		if delta != 0 {
			if err := addTally(tally, []byte(k), delta); err != nil {
				return err
			}
		}
	}
	for _, keep := range opt.keep {
		keep()
	}
	return nil
}

// nextHistorySeq is the sequence number of the dossier's next event.
func (t *tx) nextHistorySeq(appID string) uint64 {
	if t.opt != nil {
		if seq, ok := t.opt.seqs[appID]; ok {
			t.opt.seqs[appID] = seq + 1
			return seq + 1
		}
	}
	k := lastHistoryKey(t.btx.Bucket(bucketHistory), appID)
	seq := uint64(1)
	if k != nil {
		seq = binary.BigEndian.Uint64(k[len(appID):]) + 1
	}
	if t.opt != nil {
		t.opt.lasts = append(t.opt.lasts, lastRecord{appID: appID, key: bytes.Clone(k)})
		t.opt.seqs[appID] = seq
	}
	return seq
}

// lastHistoryKey is the key of the dossier's last event, or nil.
func lastHistoryKey(b *bolt.Bucket, appID string) []byte {
	c := b.Cursor()
	prefix := []byte(appID)
	k, _ := c.Seek(historyKey(appID, ^uint64(0)))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 {
		return k
	}
	return nil
}

// firstRun is the first half's outcome.
type firstRun struct {
	opt *optimistic
	// scanned: fn must run under the lock from the start.
	scanned bool
	// panicked: err is fn's panic, answered as it is.
	panicked bool
	wrote    bool
	err      error
}

// firstHalf runs fn on a snapshot with its reads recorded and its writes
// buffered. A panic is an error, as under the lock: the first half runs on
// the caller's goroutine, which may be the scheduler's or the outbox's,
// where a panic would end the process.
func (db *DB) firstHalf(fn func(engine.Tx) error) firstRun {
	run := firstRun{opt: newOptimistic()}
	err := db.bolt.View(func(btx *bolt.Tx) error {
		t := &tx{btx: btx, cache: db.cache, opt: run.opt}
		defer func() {
			if p := recover(); p != nil {
				run.err, run.panicked = panicError(p), true
			}
		}()
		run.err = fn(t)
		run.wrote = t.wrote
		return nil
	})
	// No snapshot: let the lock's run meet the same trouble and say so.
	run.scanned = run.opt.scanned || err != nil
	return run
}
