package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// bump is a read-modify-write of a call's version, the shape of every
// engine write: what is written depends on what was read.
func bump(id string) func(engine.Tx) error {
	return func(tx engine.Tx) error {
		c, err := tx.Call(id)
		if err != nil {
			return err
		}
		c.Version++
		return tx.PutCall(c)
	}
}

func openTemp(t *testing.T) *DB {
	t.Helper()
	db := mustOpen(t, filepath.Join(t.TempDir(), "designate.db"), Options{})
	t.Cleanup(func() { db.Close() })
	if err := db.Update(context.Background(), func(tx engine.Tx) error {
		return tx.PutCall(&engine.Call{ID: callA, Title: "A", TimeZone: "UTC"})
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func callVersion(t *testing.T, db *DB, id string) int {
	t.Helper()
	var v int
	if err := db.View(context.Background(), func(tx engine.ReadTx) error {
		c, err := tx.Call(id)
		if err == nil {
			v = c.Version
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// A write decided on a snapshot that another write has since changed must
// not be applied as decided: it runs again under the lock and sees the
// other write. Here A reads version 0, B then commits version 1, and A
// must end at 2, not write its stale 1 over B's.
func TestUpdate_StaleSnapshotIsRunAgainUnderTheLock(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	read, release := make(chan struct{}), make(chan struct{})
	var runs int
	errA := make(chan error, 1)
	go func() {
		errA <- db.Update(ctx, func(tx engine.Tx) error {
			runs++
			c, err := tx.Call(callA)
			if err != nil {
				return err
			}
			if runs == 1 {
				close(read)
				<-release
			}
			c.Version++
			return tx.PutCall(c)
		})
	}()
	<-read
	if err := db.Update(ctx, bump(callA)); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-errA; err != nil {
		t.Fatal(err)
	}
	if v := callVersion(t, db, callA); v != 2 {
		t.Fatalf("version %d after two increments, want 2: a write decided on a stale snapshot was applied", v)
	}
	if runs != 2 {
		t.Errorf("A ran %d times, want 2 (on the snapshot, then under the lock)", runs)
	}
	w := db.Writes()
	if w.Applied.Load() != 2 || w.Rerun.Load() != 1 {
		t.Errorf("applied %d, rerun %d; want 2 applied (the set-up and B) and A rerun", w.Applied.Load(), w.Rerun.Load())
	}
}

// Many writers incrementing one record: every increment counts.
func TestUpdate_ConcurrentIncrementsAllCount(t *testing.T) {
	db := openTemp(t)
	const writers, each = 32, 20
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := db.Update(context.Background(), bump(callA)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v := callVersion(t, db, callA); v != writers*each {
		t.Fatalf("version %d after %d increments", v, writers*each)
	}
}

// A function that scans cannot have its reads re-checked key by key: it
// runs under the lock, and its writes land.
func TestUpdate_ScanRunsUnderTheLock(t *testing.T) {
	db := openTemp(t)
	err := db.Update(context.Background(), func(tx engine.Tx) error {
		if _, _, err := tx.Applications(engine.Query{Call: callA}); err != nil {
			return err
		}
		return bump(callA)(tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := callVersion(t, db, callA); v != 1 {
		t.Fatalf("version %d, want 1", v)
	}
	if l := db.Writes().Locked.Load(); l != 1 {
		t.Errorf("%d writes under the lock, want 1", l)
	}
}

// A refusal after writes leaves nothing behind, and is answered without a
// commit.
func TestUpdate_RefusalAfterWritesWritesNothing(t *testing.T) {
	db := openTemp(t)
	before := db.Writes().Applied.Load()
	err := db.Update(context.Background(), func(tx engine.Tx) error {
		if err := bump(callA)(tx); err != nil {
			return err
		}
		return engine.Errorf(engine.ECONFLICT, "No.")
	})
	if engine.ErrorCode(err) != engine.ECONFLICT {
		t.Fatalf("err = %v, want the refusal", err)
	}
	if v := callVersion(t, db, callA); v != 0 {
		t.Fatalf("version %d after a refused write, want 0", v)
	}
	if db.Writes().Applied.Load() != before || db.Writes().Rerun.Load() != 0 || db.Writes().Locked.Load() != 0 {
		t.Errorf("a refusal reached the committer")
	}
}

// One failing write in a batch fails alone: the others of its batch are
// committed, and a panic under the lock is an error, not a dead committer.
func TestUpdate_AFailingWriteFailsAlone(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("call-%02d", i)
			errs[i] = db.Update(ctx, func(tx engine.Tx) error {
				if i%5 == 0 {
					// Scan first, so the failure happens under the lock,
					// inside a batch.
					if _, _, err := tx.Applications(engine.Query{}); err != nil {
						return err
					}
				}
				if err := tx.PutCall(&engine.Call{ID: id, Title: id}); err != nil {
					return err
				}
				switch i % 10 {
				case 0:
					return errors.New("boom")
				case 5:
					panic("bang")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		id := fmt.Sprintf("call-%02d", i)
		var stored bool
		db.View(ctx, func(tx engine.ReadTx) error { _, err := tx.Call(id); stored = err == nil; return nil })
		switch i % 10 {
		case 0:
			if err == nil || err.Error() != "boom" || stored {
				t.Errorf("%s: err %v, stored %v; want boom and nothing stored", id, err, stored)
			}
		case 5:
			if err == nil || !strings.Contains(err.Error(), "bang") || stored {
				t.Errorf("%s: err %v, stored %v; want the panic as an error and nothing stored", id, err, stored)
			}
		default:
			if err != nil || !stored {
				t.Errorf("%s: err %v, stored %v; want it stored", id, err, stored)
			}
		}
	}
	if err := db.Update(ctx, bump(callA)); err != nil {
		t.Fatalf("the committer no longer writes: %v", err)
	}
}

// Dossiers moved concurrently, each by its own writer, and one dossier's
// history appended by two writers whose snapshots overlap: every event
// keeps its own number, and the indexes and tally match the records.
func TestUpdate_ConcurrentMovesKeepHistoryIndexesAndTally(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	const n = 48
	for i := range n {
		a := dossier(i, callA, fmt.Sprintf("City %d", i), "FR", "Film", engine.Draft, false)
		if err := db.Update(ctx, func(tx engine.Tx) error { return tx.PutApplication(a) }); err != nil {
			t.Fatal(err)
		}
	}
	move := func(id string, to engine.State) func(engine.Tx) error {
		return func(tx engine.Tx) error {
			a, err := tx.Application(id)
			if err != nil {
				return err
			}
			ev := &engine.HistoryEvent{At: submittedAt, Actor: "test", Role: engine.RoleSystem, Event: "move", From: a.State, To: to}
			a.State, a.Version = to, a.Version+1
			if to == engine.Submitted {
				at := submittedAt
				a.SubmittedAt = &at
			}
			if err := tx.PutApplication(a); err != nil {
				return err
			}
			return tx.AppendHistory(id, ev)
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("%016d", i)
			for _, to := range []engine.State{engine.Submitted, engine.Draft, engine.Submitted} {
				if err := db.Update(ctx, move(id, to)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Two writers on dossier 0 with overlapping snapshots.
	read, release := make(chan struct{}), make(chan struct{})
	first := true
	done := make(chan error, 1)
	go func() {
		done <- db.Update(ctx, func(tx engine.Tx) error {
			err := move(fmt.Sprintf("%016d", 0), engine.Withdrawn)(tx)
			if first {
				first = false
				close(read)
				<-release
			}
			return err
		})
	}()
	<-read
	if err := db.Update(ctx, move(fmt.Sprintf("%016d", 0), engine.Lapsed)); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var hist []engine.HistoryEvent
	db.View(ctx, func(tx engine.ReadTx) (err error) { hist, err = tx.History(fmt.Sprintf("%016d", 0)); return })
	if len(hist) != 5 {
		t.Fatalf("dossier 0 has %d events, want 5 (3 moves, then two racing): %+v", len(hist), hist)
	}
	for i, ev := range hist {
		if ev.Seq != i+1 {
			t.Errorf("event %d has seq %d", i, ev.Seq)
		}
	}
	if hist[3].To != engine.Lapsed || hist[4].To != engine.Withdrawn {
		t.Errorf("the racing events are %s then %s, want lapsed (committed first) then withdrawn", hist[3].To, hist[4].To)
	}
	var problems []string
	if _, err := db.CheckIntegrity(ctx, func(p engine.Problem) { problems = append(problems, fmt.Sprint(p)) }); err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("integrity: %v", problems)
	}
	var counts []engine.Count
	db.View(ctx, func(tx engine.ReadTx) (err error) { counts, err = tx.Tally(callA); return })
	total := 0
	for _, c := range counts {
		total += c.N
	}
	if total != n {
		t.Errorf("tally counts %d dossiers, want %d: %+v", total, n, counts)
	}
}

// A dossier read again is a copy of the one kept decoded: what a reader
// changes is not what the next reader gets, and it encodes to exactly the
// stored bytes.
func TestCache_CopiesThatEncodeAsStored(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	a := dossier(1, callA, "Łódź", "PL", "Film", engine.Submitted, true)
	a.UpdatedAt = time.Now().UTC()
	a.Attachments = []engine.Attachment{{Slot: "photos", N: 1, Name: "a.jpg", Type: "jpeg", Size: 10, SHA256: strings.Repeat("a", 64), UploadedAt: a.UpdatedAt}}
	if err := db.Update(ctx, func(tx engine.Tx) error { return tx.PutApplication(a) }); err != nil {
		t.Fatal(err)
	}
	read := func() *engine.Application {
		var got *engine.Application
		if err := db.View(ctx, func(tx engine.ReadTx) (err error) { got, err = tx.Application(a.ID); return }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := read()
	first.Sections["vision"] = "changed by a reader"
	first.Attachments[0].Name = "changed.jpg"
	second := read()
	if second.Sections["vision"] != "Cinema for all" || second.Attachments[0].Name != "a.jpg" {
		t.Fatalf("a reader's change reached the next reader: %+v", second)
	}
	// Each part of the copy encodes to exactly the bytes stored for it.
	parts := []struct {
		bucket []byte
		v      any
	}{
		{bucketApps, &second.Summary},
		{bucketBodies, &body{Contacts: second.Contacts, Sections: second.Sections}},
		{bucketDossierFiles, second.Attachments},
	}
	for _, p := range parts {
		var stored []byte
		db.bolt.View(func(btx *bolt.Tx) error { stored = bytes.Clone(btx.Bucket(p.bucket).Get([]byte(a.ID))); return nil })
		if enc, _ := json.Marshal(p.v); !bytes.Equal(enc, stored) {
			t.Fatalf("the kept copy's %s encodes as\n%s\nnot as stored\n%s", p.bucket, enc, stored)
		}
	}
}

// Bytes changed behind the cache's back (another process, a restore) are
// decoded afresh.
func TestCache_ChangedBytesAreDecodedAgain(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	a := dossier(1, callA, "Porto", "PT", "Film", engine.Draft, false)
	if err := db.Update(ctx, func(tx engine.Tx) error { return tx.PutApplication(a) }); err != nil {
		t.Fatal(err)
	}
	// Read once, so the body is kept decoded.
	if err := db.View(ctx, func(tx engine.ReadTx) error { _, err := tx.Application(a.ID); return err }); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(&body{Contacts: a.Contacts, Sections: map[string]string{"vision": "Written by someone else"}})
	if err := db.bolt.Update(func(btx *bolt.Tx) error { return btx.Bucket(bucketBodies).Put([]byte(a.ID), raw) }); err != nil {
		t.Fatal(err)
	}
	var got *engine.Application
	db.View(ctx, func(tx engine.ReadTx) (err error) { got, err = tx.Application(a.ID); return })
	if got.Sections["vision"] != "Written by someone else" {
		t.Fatalf("read %q: the cache answered for bytes that changed", got.Sections["vision"])
	}
}

// The cache keeps at most its bound of stored bytes.
func TestCache_Bounded(t *testing.T) {
	c := newDecoded(10_000, cloneBody)
	for i := range 100 {
		c.put(fmt.Sprint(i), make([]byte, 1000), &body{})
	}
	if c.size > 10_000 || len(c.entries) != 10 || c.lru.Len() != 10 {
		t.Fatalf("size %d, %d entries, lru %d; want at most 10,000 bytes in 10 entries", c.size, len(c.entries), c.lru.Len())
	}
	if _, ok := c.get("99", make([]byte, 1000)); !ok {
		t.Error("the last kept entry is gone")
	}
	if _, ok := c.get("0", make([]byte, 1000)); ok {
		t.Error("the first entry was not evicted")
	}
}

// A panic in the first half, on the snapshot, is the write's error with the
// stack where it happened, as it is under the lock: raised again, it would
// end the process from the scheduler's or the outbox's goroutine. It is not
// run again under the lock, and the committer goes on.
func TestUpdate_PanicOnTheSnapshot_IsAnErrorWithItsStack(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	errc := make(chan error, 1)
	var runs int
	// Its own goroutine, as the scheduler's: a panic raised again would end
	// the test binary.
	go func() {
		errc <- db.Update(ctx, func(tx engine.Tx) error {
			runs++
			if err := bump(callA)(tx); err != nil {
				return err
			}
			panic("bang on the snapshot")
		})
	}()
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "bang on the snapshot") || !strings.Contains(err.Error(), "optimistic_test.go") {
		t.Fatalf("err = %v, want the panic with its stack", err)
	}
	if engine.ErrorCode(err) != engine.EINTERNAL {
		t.Errorf("code %q, want internal", engine.ErrorCode(err))
	}
	if runs != 1 {
		t.Errorf("the panicking function ran %d times, want 1", runs)
	}
	if v := callVersion(t, db, callA); v != 0 {
		t.Fatalf("version %d after a panic, want 0", v)
	}
	if err := db.Update(ctx, bump(callA)); err != nil {
		t.Fatalf("the committer no longer writes: %v", err)
	}
}

// A scan in the first half is noted, not thrown: a function that recovers
// panics (or swallows errors) around its scan still has its snapshot's
// outcome dropped, and runs under the lock.
func TestUpdate_ScanInsideARecover_StillRunsUnderTheLock(t *testing.T) {
	db := openTemp(t)
	err := db.Update(context.Background(), func(tx engine.Tx) error {
		func() {
			defer func() { _ = recover() }()
			_, _ = tx.Calls()
		}()
		return bump(callA)(tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := callVersion(t, db, callA); v != 1 {
		t.Fatalf("version %d, want 1", v)
	}
	if a, l := db.Writes().Applied.Load(), db.Writes().Locked.Load(); a != 1 || l != 1 {
		// openTemp's own write is the one applied.
		t.Errorf("applied %d, locked %d; want the scanning write under the lock (applied 1, locked 1)", a, l)
	}
}

// A dossier read in the first half of a write and changed in place by
// the function, without being written, must not reach the cache: the
// next reader gets what is stored.
func TestCache_InPlaceChangeInTheFirstHalf_IsNotKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "designate.db")
	db := mustOpen(t, path, Options{})
	a := dossier(1, callA, "Porto", "PT", "Film", engine.Draft, false)
	mustPut(t, db, a)
	mustClose(t, db)
	// A fresh cache: the next read decodes the body, in the first half.
	db = mustOpen(t, path, Options{})
	defer mustClose(t, db)
	ctx := context.Background()
	err := db.Update(ctx, func(tx engine.Tx) error {
		app, err := tx.Application(a.ID)
		if err != nil {
			return err
		}
		app.Sections["vision"] = "never stored"
		return tx.PutCall(&engine.Call{ID: callA, Title: "A", TimeZone: "UTC"}) // another write, so the first half is applied
	})
	if err != nil {
		t.Fatal(err)
	}
	var got *engine.Application
	if err := db.View(ctx, func(tx engine.ReadTx) (err error) { got, err = tx.Application(a.ID); return }); err != nil {
		t.Fatal(err)
	}
	if got.Sections["vision"] != "Cinema for all" {
		t.Fatalf("a reader gets %q, which was never stored", got.Sections["vision"])
	}
}
