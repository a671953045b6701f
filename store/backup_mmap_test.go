package store

import (
	"crypto/rand"
	"encoding/binary"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A long read transaction (a backup took one while its client read the
// database, before it copied the snapshot to a file first) holds the pages
// it reads; these tests are about the writers meanwhile (see mmap.go).

// mmOpen opens a new database and file store with the headroom given.
func mmOpen(tb testing.TB, headroom int) (*DB, *Files) {
	tb.Helper()
	old := mmapHeadroom
	mmapHeadroom = headroom
	defer func() { mmapHeadroom = old }()
	dir := tb.TempDir()
	db, err := Open(filepath.Join(dir, "designate.db"), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	files, err := OpenFiles(filepath.Join(dir, "files"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close(); files.Close() })
	if err := db.bolt.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(mmBucket); return err }); err != nil {
		tb.Fatal(err)
	}
	return db, files
}

var mmBucket = []byte("mm-load")

// mmWrite stores one value of size bytes under a new key, as a write of
// the server does (a grouped, synced commit).
func mmWrite(db *DB, seq *atomic.Uint64, size int) error {
	key := binary.BigEndian.AppendUint64(nil, seq.Add(1))
	value := make([]byte, size)
	rand.Read(value)
	return db.bolt.Batch(func(tx *bolt.Tx) error { return tx.Bucket(mmBucket).Put(key, value) })
}

// mmHeldClient is a backup's client that reads nothing until released.
type mmHeldClient struct {
	held, release chan struct{}
	once          sync.Once
}

func (c *mmHeldClient) Write(p []byte) (int, error) {
	c.once.Do(func() { close(c.held); <-c.release })
	return len(p), nil
}

// While a read transaction is held open, the writers still grow the
// database from nothing to 8 MB: the map has room for it. Without that
// room, as bbolt maps by itself, the first write that outgrows the map
// waits for the reader to end: the stall the room is for, shown here so
// that the test fails if it ever stops being the cause. A backup whose
// client reads nothing holds no transaction: it copied its snapshot to a
// file first, so even without the room the writers go on.
func TestBackup_HeldOpen_WritersGrowTheDatabase(t *testing.T) {
	for _, c := range []struct {
		name     string
		headroom int
		backup   bool // held: a backup's client; else a read transaction
		stalls   bool
	}{
		{"ReadHeld_WithHeadroom", 1 << 30, false, false},
		{"ReadHeld_WithoutHeadroom", 0, false, true},
		{"BackupClientHeld_WithoutHeadroom", 0, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, files := mmOpen(t, c.headroom)
			held, release := make(chan struct{}), make(chan struct{})
			done := make(chan error, 1)
			if c.backup {
				client := &mmHeldClient{held: held, release: release}
				go func() { done <- WriteBackup(client, db, files) }()
			} else {
				go func() {
					done <- db.bolt.View(func(*bolt.Tx) error { close(held); <-release; return nil })
				}()
			}
			<-held

			grown := make(chan error, 1)
			go func() {
				var seq atomic.Uint64
				for i := 0; i < 32; i++ {
					if err := mmWrite(db, &seq, 256<<10); err != nil {
						grown <- err
						return
					}
				}
				grown <- nil
			}()
			wait := 30 * time.Second
			if c.stalls {
				wait = 500 * time.Millisecond // it waits for ever: any time shows it
			}
			select {
			case err := <-grown:
				if err != nil {
					t.Fatal(err)
				}
				if c.stalls {
					t.Fatal("the database grew by 8 MB under a held reader without headroom: the stall this test contrasts is gone")
				}
			case <-time.After(wait):
				if !c.stalls {
					t.Fatalf("the writers did not grow the database by 8 MB in %v while held", wait)
				}
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if left, _ := filepath.Glob(db.Path() + ".backup-*"); len(left) > 0 {
				t.Errorf("the backup left its copy of the database behind: %v", left)
			}
			if c.stalls {
				if err := <-grown; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// mmSlowClient reads a backup at a fixed rate.
type mmSlowClient struct {
	rate float64 // bytes per second
}

func (c mmSlowClient) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(float64(len(p)) / c.rate * float64(time.Second)))
	return len(p), nil
}

// TestBackup_WriteLatency_DuringASlowBackup measures, in one run, the
// latency of writes (8 writers, 4 KB each, grouped commits) for a second
// with no backup, then while a client reads a backup of the database over
// 1.5 s; with the map's headroom and without it. It fails only if, with
// the headroom, a write waited for most of the backup.
func TestBackup_WriteLatency_DuringASlowBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement of a few seconds")
	}
	for _, c := range []struct {
		name     string
		headroom int
	}{
		{"WithHeadroom", 1 << 30},
		{"WithoutHeadroom", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, files := mmOpen(t, c.headroom)
			var seq atomic.Uint64
			for range 512 { // 2 MB to copy
				if err := mmWrite(db, &seq, 4<<10); err != nil {
					t.Fatal(err)
				}
			}
			var (
				mu      sync.Mutex
				samples []mmSample
				stop    = make(chan struct{})
				wg      sync.WaitGroup
				failed  atomic.Value
			)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						start := time.Now()
						if err := mmWrite(db, &seq, 4<<10); err != nil {
							failed.Store(err)
							return
						}
						mu.Lock()
						samples = append(samples, mmSample{start, time.Now()})
						mu.Unlock()
					}
				}()
			}
			time.Sleep(time.Second) // the writers alone
			var dbBytes int64
			db.bolt.View(func(tx *bolt.Tx) error { dbBytes = tx.Size(); return nil })
			from := time.Now()
			if err := WriteBackup(mmSlowClient{rate: float64(dbBytes) / 1.5}, db, files); err != nil {
				t.Fatal(err)
			}
			to := time.Now()
			close(stop)
			wg.Wait()
			if err, _ := failed.Load().(error); err != nil {
				t.Fatal(err)
			}
			var during, outside []time.Duration
			for _, s := range samples {
				if s.start.Before(to) && s.end.After(from) {
					during = append(during, s.end.Sub(s.start))
				} else {
					outside = append(outside, s.end.Sub(s.start))
				}
			}
			pIn, pOut := mmP99(during), mmP99(outside)
			t.Logf("%s: backup of %d bytes took %v; write p99 %v during it (%d writes, max %v), %v without (%d writes, max %v); ratio %.1f",
				c.name, dbBytes, to.Sub(from).Round(time.Millisecond), pIn, len(during), slices.Max(during), pOut, len(outside), slices.Max(outside),
				float64(pIn)/float64(pOut))
			if c.headroom > 0 && slices.Max(during) > to.Sub(from)*2/3 {
				t.Errorf("with headroom, a write waited %v during a %v backup", slices.Max(during), to.Sub(from))
			}
		})
	}
}

type mmSample struct{ start, end time.Time }

func mmP99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[(len(ds)*99+99)/100-1]
}
