//go:build linux

package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"designate/engine"
)

// ctBlocked holds the committer: a write that scans (so it runs under the
// lock) and waits, on its run there, until released. Writes made meanwhile
// queue.
func ctBlocked(t *testing.T, db *DB) (release func() error) {
	t.Helper()
	running, free := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- db.Update(context.Background(), func(tx engine.Tx) error {
			if _, err := tx.Calls(); err != nil {
				return err
			}
			if runs.Add(1) == 2 { // the first run is the first half's
				close(running)
				<-free
			}
			return tx.PutCall(&engine.Call{ID: "blocker", Title: "blocker"})
		})
	}()
	<-running
	return func() error { close(free); return <-done }
}

// ctWaitQueued returns once n writes wait in the committer's queue.
func ctWaitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	for {
		db.commit.mu.Lock()
		queued := len(db.commit.pending)
		db.commit.mu.Unlock()
		if queued >= n {
			return
		}
		runtime.Gosched()
	}
}

func ctStored(t *testing.T, path string, ids ...string) []string {
	t.Helper()
	db := mustOpen(t, path, Options{})
	defer mustClose(t, db)
	var out []string
	for _, id := range ids {
		db.View(context.Background(), func(tx engine.ReadTx) error {
			if _, err := tx.Call(id); err == nil {
				out = append(out, id)
			}
			return nil
		})
	}
	return out
}

// A commit that fails (here its writes: the database's descriptor swapped
// for a read-only one, as a disk gone bad would fail them) is fatal: every
// write of its batch is told its outcome is unknown (EUNAVAILABLE), never a
// success; every write after it is refused at once the same way; the
// failure reaches Fatal once; and a function's own error before it stays
// that function's, with nothing fatal.
func TestCommitter_CommitFails_EveryWaiterUnavailable_AndFatal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "designate.db")
	var file *os.File
	db := mustOpen(t, path, Options{openFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}})
	ctx := context.Background()
	if err := db.Update(ctx, func(tx engine.Tx) error { return fmt.Errorf("the function's own") }); err == nil || engine.ErrorCode(err) != engine.EINTERNAL {
		t.Fatalf("a failing function: %v, want its own error", err)
	}
	select {
	case err := <-db.Fatal():
		t.Fatalf("a function's own error was taken for a failed commit: %v", err)
	default:
	}

	release := ctBlocked(t, db)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		var runs atomic.Int32
		go func() {
			defer wg.Done()
			errs[i] = db.Update(ctx, func(tx engine.Tx) error {
				if i == 0 {
					if _, err := tx.Calls(); err != nil { // under the lock
						return err
					}
					if runs.Add(1) == 2 {
						ro, err := os.Open(path)
						if err != nil {
							return err
						}
						defer ro.Close()
						if err := syscall.Dup3(int(ro.Fd()), int(file.Fd()), 0); err != nil {
							return err
						}
					}
				}
				return tx.PutCall(&engine.Call{ID: fmt.Sprintf("w%d", i), Title: "w"})
			})
		}()
		// The breaking write first, so it runs first in the next batch.
		ctWaitQueued(t, db, i+1)
	}
	if err := release(); err != nil {
		t.Fatalf("the write before the failure: %v", err)
	}
	wg.Wait()
	for i, err := range errs {
		if engine.ErrorCode(err) != engine.EUNAVAILABLE {
			t.Errorf("write %d of the failed batch: %v, want unavailable", i, err)
		}
	}
	select {
	case err := <-db.Fatal():
		if !strings.Contains(err.Error(), "bad file descriptor") {
			t.Errorf("fatal: %v, want the commit's cause", err)
		}
	default:
		t.Fatal("the failed commit did not reach Fatal")
	}
	if err := db.Update(ctx, bump("blocker")); engine.ErrorCode(err) != engine.EUNAVAILABLE {
		t.Fatalf("a write after the failure: %v, want unavailable", err)
	}
	if err := db.Update(ctx, func(engine.Tx) error { return nil }); engine.ErrorCode(err) != engine.EUNAVAILABLE {
		t.Fatalf("a write with nothing to write after the failure: %v, want unavailable", err)
	}
	select {
	case err := <-db.Fatal():
		t.Fatalf("a second fatal: %v", err)
	default:
	}
	mustClose(t, db)
	ids := []string{"blocker"}
	for i := range n {
		ids = append(ids, fmt.Sprintf("w%d", i))
	}
	if got := ctStored(t, path, ids...); len(got) != 1 || got[0] != "blocker" {
		t.Fatalf("stored after the failure: %v, want only the write acknowledged before it", got)
	}
}

// A full commit queue refuses a write at once with EBUSY and a time to
// retry after, and writes nothing of it; the writes queued commit.
func TestCommitter_QueueFull_Busy_WritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "designate.db")
	db := mustOpen(t, path, Options{CommitQueue: 2})
	ctx := context.Background()
	release := ctBlocked(t, db)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(ctx, func(tx engine.Tx) error {
				return tx.PutCall(&engine.Call{ID: fmt.Sprintf("q%d", i), Title: "q"})
			})
		}()
	}
	ctWaitQueued(t, db, 2)
	err := db.Update(ctx, func(tx engine.Tx) error { return tx.PutCall(&engine.Call{ID: "over", Title: "over"}) })
	if engine.ErrorCode(err) != engine.EBUSY || engine.ErrorRetryAfter(err) <= 0 {
		t.Fatalf("a write past the queue's bound: %v (retry after %v), want busy with a time to retry", err, engine.ErrorRetryAfter(err))
	}
	// The engine's own bookkeeping is queued all the same.
	wg.Add(1)
	var systemErr error
	go func() {
		defer wg.Done()
		systemErr = db.Update(engine.SystemWrite(ctx), func(tx engine.Tx) error {
			return tx.PutCall(&engine.Call{ID: "system", Title: "system"})
		})
	}()
	ctWaitQueued(t, db, 3)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued write %d: %v", i, err)
		}
	}
	if systemErr != nil {
		t.Errorf("the system write past the bound: %v, want it queued and committed", systemErr)
	}
	mustClose(t, db)
	if got := ctStored(t, path, "blocker", "q0", "q1", "over", "system"); strings.Join(got, " ") != "blocker q0 q1 system" {
		t.Fatalf("stored %v, want the queued writes and the system's, not the refused one", got)
	}
}
