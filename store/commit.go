package store

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// committer is the group commit every write goes through: one goroutine
// takes every write waiting, runs them one after the other in one bbolt
// transaction, syncs it once and answers them all. While it syncs, the next
// writes queue, so a batch is as large as the load makes it, with no timer:
// an idle server commits a lone write at once, a busy one shares each sync
// among every write that arrived during the previous one.
//
// bbolt's own Batch does the same with a timer (MaxBatchDelay) per batch;
// under load its batches start before the previous commit ends, queue on
// the write lock, and each commits a handful of writes (measured: 3.6 writes
// a commit at 64 clients).
//
// A commit that fails (bbolt's Commit, its write or its sync, returning an
// error) is fatal, as in etcd and PostgreSQL: after a failed fsync the
// kernel may have dropped the dirty pages, so neither "failed" nor the next
// commit's "durable" can be trusted. The committer answers every write of
// that batch EUNAVAILABLE (its outcome is unknown), takes no write after
// it, and reports the failure on fatal, for the process to stop and be
// restarted on what is really on disk.
type committer struct {
	db *bolt.DB
	// max bounds a batch, so one commit's dirty pages stay bounded.
	max int
	// queue bounds the writes waiting, so an overload is refused at once
	// (EBUSY) instead of holding ever more requests and their buffered
	// records in memory.
	queue int
	// fatal receives the first failed commit's error, once.
	fatal chan error

	mu      sync.Mutex
	pending []*commitCall
	wake    chan struct{}
	closed  bool
	failed  error
	done    chan struct{}
}

type commitCall struct {
	fn  func(*bolt.Tx) error
	err chan error
}

// errCommitterClosed answers writes that arrive after Close.
var errCommitterClosed = errors.New("the database is closed")

// errBusy answers a write that finds the queue full: nothing is written.
func errBusy() error {
	return &engine.Error{Code: engine.EBUSY, Message: "The server is busy: nothing was saved. Try again in a moment.", RetryAfter: time.Second}
}

// errUnavailable answers every write of a batch whose commit failed, and
// every write after it.
func errUnavailable() error {
	return engine.Errorf(engine.EUNAVAILABLE, "The outcome of this write is unknown: the server could not make it durable and is stopping.")
}

func newCommitter(db *bolt.DB, max, queue int) *committer {
	c := &committer{db: db, max: max, queue: queue, fatal: make(chan error, 1), wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

// do runs fn in a write transaction shared with concurrent writes and
// returns once that transaction is durable, with fn's error or the
// commit's. fn may run more than once: when another function of its batch
// fails, the batch is rolled back and run again without it. Returns EBUSY,
// at once, when the queue is full, and EUNAVAILABLE when fn's commit, or
// an earlier one, failed.
//
// A write whose context is engine.SystemWrite is queued whatever the
// queue's length: the engine's own bookkeeping (an e-mail recorded as
// sent, the audit log) refused for load would resend an e-mail or lose
// events, and there are few such writers at a time.
func (c *committer) do(ctx context.Context, fn func(*bolt.Tx) error) error {
	call := &commitCall{fn: fn, err: make(chan error, 1)}
	c.mu.Lock()
	switch {
	case c.failed != nil:
		c.mu.Unlock()
		return errUnavailable()
	case c.closed:
		c.mu.Unlock()
		return errCommitterClosed
	case len(c.pending) >= c.queue && !engine.IsSystemWrite(ctx):
		c.mu.Unlock()
		return errBusy()
	}
	c.pending = append(c.pending, call)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return <-call.err
}

// err is EUNAVAILABLE once a commit failed, else nil.
func (c *committer) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed != nil {
		return errUnavailable()
	}
	return nil
}

// close answers the writes still queued, then stops the loop. Writes
// already taken finish and are synced first.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	for {
		c.mu.Lock()
		batch := c.pending
		if len(batch) > c.max {
			batch = batch[:c.max:c.max]
			c.pending = c.pending[c.max:]
		} else {
			c.pending = nil
		}
		closed := c.closed
		c.mu.Unlock()
		if len(batch) > 0 {
			c.run(batch)
			continue
		}
		if closed {
			return
		}
		<-c.wake
	}
}

// run commits the batch. A function that fails rolls back the whole
// transaction; it is then run alone to give its caller its own error, and
// the others are run again without it. An error from bbolt with no
// function failing is the commit's own: fatal (see committer).
func (c *committer) run(batch []*commitCall) {
	for len(batch) > 0 {
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, call := range batch {
				if err := safely(call.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			if err != nil {
				c.fail(err, batch)
				return
			}
			for _, call := range batch {
				call.err <- nil
			}
			return
		}
		lone := batch[failed]
		var fnErr error
		err = c.db.Update(func(tx *bolt.Tx) error {
			fnErr = safely(lone.fn, tx)
			return fnErr
		})
		if err != nil && fnErr == nil {
			c.fail(err, batch)
			return
		}
		lone.err <- err
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// fail marks the committer failed by the commit error err: the batch's
// writes, and those waiting, are answered EUNAVAILABLE (a batch's may be on
// disk or not; the waiting ones were not run, but the server is stopping
// all the same), later ones at once, and err goes to fatal.
func (c *committer) fail(err error, batch []*commitCall) {
	err = fmt.Errorf("commit: %w", err)
	c.mu.Lock()
	c.failed = err
	waiting := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, call := range append(batch, waiting...) {
		call.err <- errUnavailable()
	}
	c.fatal <- err // buffered, and sent once: nothing commits after it
}

// safely runs fn, turning a panic into an error: the committer's goroutine
// serves every writer and must not die with one.
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError(p)
		}
	}()
	return fn(tx)
}

// panicError is a write's panic as an error, with the stack where it
// happened (called from the deferred recover, the stack still holds it).
func panicError(p any) error {
	return fmt.Errorf("panic in a write: %v\n%s", p, debug.Stack())
}
