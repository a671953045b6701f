// Package store keeps the engine's records in bbolt: one file, with every
// state, its history and its indexes written in one durable transaction.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// Buckets. Keys are documented where they are written.
var (
	bucketMeta     = []byte("meta")
	bucketCalls    = []byte("calls")
	bucketApps     = []byte("applications")
	bucketHistory  = []byte("history")
	bucketIndex    = []byte("index")
	bucketUsers    = []byte("users")
	bucketEmails   = []byte("emails")
	bucketSessions = []byte("sessions")
	// bucketUserSessions holds user id + token hash, to end every session of
	// an account at once.
	bucketUserSessions = []byte("user_sessions")
	// bucketAssignments holds dossier id + NUL + evaluator id.
	bucketAssignments = []byte("assignments")
	// bucketAudit holds audit events by their time-ordered id.
	bucketAudit = []byte("audit")
	allBuckets  = [][]byte{bucketMeta, bucketCalls, bucketApps, bucketHistory, bucketIndex, bucketUsers,
		bucketEmails, bucketSessions, bucketUserSessions, bucketAssignments, bucketAudit, bucketTally,
		bucketReviews, bucketConflicts, bucketOutbox, bucketOutboxPending, bucketOutboxHeld, bucketOutboxState,
		bucketBodies, bucketDossierFiles}
)

// schemaVersion is written at creation; a later layout change migrates from
// it (see migrate). Version 2 added the tally, version 3 split each dossier
// into head, body and files.
const schemaVersion = "3"

// DB is the bbolt store. It implements engine.Store.
type DB struct {
	bolt   *bolt.DB
	path   string
	cache  *caches
	commit *committer // nil when read-only
	writes WriteStats
}

// WriteStats count how writes reached the disk (see Update).
type WriteStats struct {
	// Applied writes were decided on a snapshot and applied unchanged.
	Applied atomic.Int64
	// Rerun writes found what they read changed and ran again under the
	// lock.
	Rerun atomic.Int64
	// Locked writes scanned, and ran under the lock only.
	Locked atomic.Int64
}

// Writes are the database's write counts since it was opened.
func (db *DB) Writes() *WriteStats { return &db.writes }

var _ engine.Store = (*DB)(nil)

// Options tune the store.
type Options struct {
	// OpenTimeout is how long Open waits for another process to release the
	// file; 0 waits one second.
	OpenTimeout time.Duration
	// ReadOnly opens the file for reading only (backups, checks).
	ReadOnly bool
	// CacheBytes bounds the dossiers kept decoded (their stored size; the
	// decoded copies take about as much again); 0 keeps 32 MiB, about
	// 1,500 dossiers of 22 KB, and a negative value keeps none.
	CacheBytes int
	// Logger hears the progress of a migration; nil hears nothing.
	Logger *slog.Logger
	// OlderSchema lets a read-only open take a file of an older layout,
	// for a copy of its bytes (a backup taken before an upgrade): the
	// engine's reads would misread it, so nothing else may use it.
	OlderSchema bool
	// CommitQueue bounds the writes waiting for a commit; a write that
	// finds it full is refused at once with EBUSY and writes nothing. 0
	// keeps DefaultCommitQueue.
	CommitQueue int

	// openFile, when set, opens the database file (bbolt's OpenFile): the
	// store's tests reach the file to make its writes fail.
	openFile func(string, int, os.FileMode) (*os.File, error)
}

// DefaultCommitQueue is the commit queue's bound when Options leave it 0:
// four full batches (4,000 writes). A commit of a full batch takes tens of
// milliseconds, so a write queued last waits well under a second; past
// that the server is overloaded, and waiting requests only add memory
// (each holds its buffered records, a dossier's 22 KB) and time-outs. Under
// the deadline rush (64 clients) the queue never holds more than the
// clients.
const DefaultCommitQueue = 4 * maxBatch

// DefaultCacheBytes is the decoded dossiers' bound when Options leave it 0.
const DefaultCacheBytes = 32 << 20

// ErrLocked means another process (a running server) holds the database.
var ErrLocked = errors.New("the database is in use by another process (is the server running?)")

// Open opens or creates the database file at path.
func Open(path string, opts Options) (*DB, error) {
	if opts.OpenTimeout == 0 {
		opts.OpenTimeout = time.Second
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.OpenTimeout, ReadOnly: opts.ReadOnly, FreelistType: bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize(path, opts.ReadOnly), OpenFile: opts.openFile})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	} else if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	db := &DB{bolt: b, path: path, cache: newCaches(opts.CacheBytes)}
	if opts.ReadOnly {
		// A reader of a newer layout could misread it: refuse as a writer does.
		err = b.View(func(tx *bolt.Tx) error {
			if meta := tx.Bucket(bucketMeta); meta != nil {
				switch v := string(meta.Get(keySchema)); v {
				case schemaVersion:
				case "", "1", "2", schemaSplitting:
					if opts.OlderSchema {
						return nil
					}
					return fmt.Errorf("schema version %q is older than this program's (%s): start the server once, which migrates it", v, schemaVersion)
				default:
					return fmt.Errorf("schema version %q is newer than this program (%s)", v, schemaVersion)
				}
			}
			return nil
		})
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	if !opts.ReadOnly {
		log := opts.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		err = migrate(b, log)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("initialise %s: %w", path, err)
		}
		if opts.CommitQueue <= 0 {
			opts.CommitQueue = DefaultCommitQueue
		}
		db.commit = newCommitter(b, maxBatch, opts.CommitQueue)
	}
	return db, nil
}

// maxBatch bounds the writes one commit carries (bbolt's MaxBatchSize).
const maxBatch = 1000

// Close commits the writes already queued, then closes the file; writes
// already acknowledged are on disk.
func (db *DB) Close() error {
	if db.commit != nil {
		db.commit.close()
	}
	return db.bolt.Close()
}

// Fatal receives the error of a commit that failed (see committer), once:
// from then on the database takes no write, and the process must stop, to
// be restarted on what is really on disk. Nil, never ready, when read-only.
func (db *DB) Fatal() <-chan error {
	if db.commit == nil {
		return nil
	}
	return db.commit.fatal
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Update runs fn in a write transaction grouped with concurrent ones into
// one commit (see committer), and returns once that commit is synced.
//
// fn first runs on a snapshot, outside the lock, with its reads recorded
// and its writes buffered; the committer applies them if nothing it read
// has changed since, and otherwise runs fn again under the lock (see
// optimistic). A refusal (an engine error) on the snapshot is answered at
// once, its buffered writes dropped. Under the lock, a refusal that wrote
// nothing is answered while the rest of the batch commits; one after
// writes fails the function, whose writes are rolled back. A panic in fn,
// in either half, is fn's error, with its stack.
func (db *DB) Update(ctx context.Context, fn func(engine.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.commit == nil {
		return errors.New("the database is open read-only")
	}
	// After a failed commit even a write with nothing to write is refused:
	// its snapshot may hold what the failed commit left, durable or not.
	if err := db.commit.err(); err != nil {
		return err
	}
	first := db.firstHalf(fn)
	opt := first.opt
	switch {
	case first.scanned:
		opt = nil // under the lock from the start
	case first.panicked:
		return first.err // not run again to panic under the lock
	case first.err != nil && engine.IsRefusal(first.err):
		return first.err
	case first.err != nil:
		opt = nil // an internal error: let the lock's run report it
	case !first.wrote:
		return nil // nothing to write, nothing to make durable
	}
	var refusal error
	err := db.commit.do(ctx, func(btx *bolt.Tx) error {
		refusal = nil
		if opt != nil && opt.valid(btx) {
			db.writes.Applied.Add(1)
			return opt.apply(btx)
		}
		if opt != nil {
			db.writes.Rerun.Add(1)
		} else {
			db.writes.Locked.Add(1)
		}
		t := &tx{btx: btx, cache: db.cache}
		err := fn(t)
		if err != nil && engine.IsRefusal(err) && !t.wrote {
			refusal = err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return refusal
}

// View runs fn in a read transaction on a consistent snapshot.
func (db *DB) View(ctx context.Context, fn func(engine.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(&tx{btx: btx, cache: db.cache}) })
}

// WriteTo writes a consistent copy of the whole database to w while writers
// go on, and returns the bytes written.
func (db *DB) WriteTo(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(btx *bolt.Tx) (err error) {
		n, err = btx.WriteTo(w)
		return err
	})
	return n, err
}
