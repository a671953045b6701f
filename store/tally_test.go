package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// The calls of these tests. One id is a prefix of the other, so a count
// read by a plain prefix would mix them.
const (
	callA = "creative-cities-2027"
	callB = "creative-cities-2027-bis"
)

var submittedAt = time.Date(2027, time.March, 18, 9, 30, 0, 0, time.UTC)

// dossier is a valid-looking record as the engine would store it; submitted
// says whether it was ever submitted (Application.LeftDraft).
func dossier(n int, call, city, country, field string, state engine.State, submitted bool) *engine.Application {
	created := submittedAt.Add(-48 * time.Hour)
	a := &engine.Application{Summary: engine.Summary{
		ID: fmt.Sprintf("%016d", n), Call: call, City: city, Country: country, Field: field,
		Language: "en", State: state, Version: 1, CreatedAt: created, UpdatedAt: created,
		Owner: fmt.Sprintf("U%015d", n),
	}, Sections: map[string]string{"vision": "Cinema for all"}}
	if submitted {
		at := submittedAt
		a.SubmittedAt = &at
		a.Version, a.UpdatedAt = 3, at
	}
	return a
}

// mustOpen opens the database file, failing the test on an error; the
// caller closes it.
func mustOpen(tb testing.TB, path string, opts Options) *DB {
	tb.Helper()
	db, err := Open(path, opts)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	return db
}

func mustClose(tb testing.TB, db *DB) {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatalf("close %s: %v", db.Path(), err)
	}
}

// mustPut stores the dossiers through the store's own transaction, as the
// engine does, each in its own Update.
func mustPut(tb testing.TB, db *DB, apps ...*engine.Application) {
	tb.Helper()
	for _, a := range apps {
		err := db.Update(context.Background(), func(tx engine.Tx) error { return tx.PutApplication(a) })
		if err != nil {
			tb.Fatalf("put dossier %s (%s %s/%s): %v", a.ID, a.City, a.State, a.Field, err)
		}
	}
}

// tallyOf is the call's tally as "state/field" → count.
func tallyOf(tb testing.TB, db *DB, call string) map[string]int {
	tb.Helper()
	got := map[string]int{}
	err := db.View(context.Background(), func(tx engine.ReadTx) error {
		counts, err := tx.Tally(call)
		for _, c := range counts {
			key := string(c.State) + "/" + c.Field
			if _, dup := got[key]; dup {
				tb.Errorf("tally of %s lists %s twice", call, key)
			}
			if c.N <= 0 {
				tb.Errorf("tally of %s lists %s with count %d: only counts above zero belong there", call, key, c.N)
			}
			got[key] = c.N
		}
		return err
	})
	if err != nil {
		tb.Fatalf("tally of %s: %v", call, err)
	}
	return got
}

func assertTally(tb testing.TB, db *DB, call string, want map[string]int) {
	tb.Helper()
	if got := tallyOf(tb, db, call); !maps.Equal(got, want) {
		tb.Fatalf("tally of %s =\n  %v\nwant\n  %v", call, sorted(got), sorted(want))
	}
}

func sorted(m map[string]int) []string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(out)
	return out
}

// rawUpdate changes the closed database file with bbolt itself, as an older
// program or a hand would have left it.
func rawUpdate(tb testing.TB, path string, fn func(*bolt.Tx) error) {
	tb.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatalf("open %s with bbolt: %v", path, err)
	}
	defer b.Close()
	if err := b.Update(fn); err != nil {
		tb.Fatalf("change %s with bbolt: %v", path, err)
	}
}

// schemaOf reads the stored schema version with bbolt itself.
func schemaOf(tb testing.TB, path string) string {
	tb.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		tb.Fatalf("open %s with bbolt: %v (was the file left locked?)", path, err)
	}
	defer b.Close()
	var v string
	_ = b.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			v = string(m.Get([]byte("schema")))
		}
		return nil
	})
	return v
}

// downgrade makes the file look as an older program left it: schema 2
// keeps each dossier whole in one record; schema 1 (or no version, when
// version is "") has no tally either.
func downgrade(tb testing.TB, path, version string) {
	tb.Helper()
	rawUpdate(tb, path, func(tx *bolt.Tx) error {
		if err := joinDossiers(tx); err != nil {
			return err
		}
		if version == "2" {
			return tx.Bucket(bucketMeta).Put([]byte("schema"), []byte(version))
		}
		if err := tx.DeleteBucket(bucketTally); err != nil {
			return fmt.Errorf("delete the tally: %w", err)
		}
		if version == "" {
			return tx.Bucket(bucketMeta).Delete([]byte("schema"))
		}
		return tx.Bucket(bucketMeta).Put([]byte("schema"), []byte(version))
	})
}

// mixedDossiers is a call's worth of dossiers in many states, with the
// tally they make in callA. Never-submitted ones are there and uncounted.
func mixedDossiers() ([]*engine.Application, map[string]int) {
	apps := []*engine.Application{
		dossier(1, callA, "Cannes", "FR", "Film", engine.Draft, false),                 // never submitted
		dossier(2, callA, "Rouen", "FR", "Gastronomy", engine.Submitted, true),         // counted
		dossier(3, callA, "Saint-Étienne", "FR", "Music", engine.Draft, true),          // retracted: counted as a draft
		dossier(4, callA, "Limoges", "FR", "Music", engine.Withdrawn, false),           // withdrawn from draft
		dossier(5, callA, "Covilhã", "PT", "Music", engine.Endorsed, true),             // counted
		dossier(6, callA, "Perth", "GB", "Film", engine.NotEndorsed, true),             // counted
		dossier(7, callA, "Perth", "AU", "Film", engine.Withdrawn, true),               // counted
		dossier(8, callA, "Huai'an", "CN", "Gastronomy", engine.Endorsed, true),        // counted
		dossier(9, callA, "Gdynia", "PL", "Film", engine.Submitted, true),              // counted
		dossier(10, callA, "Namur", "BE", "Gastronomy", engine.Lapsed, false),          // lapsed draft
		dossier(11, callA, "Santos", "BR", "Film", engine.Submitted, true),             // counted
		dossier(12, callB, "Cannes", "FR", "Film", engine.Submitted, true),             // the other call
		dossier(13, callB, "São Paulo", "BR", "Music", engine.Eligible, true),          // the other call
		dossier(14, callA, "Modena", "IT", "Gastronomy", engine.UnderEvaluation, true), // counted
	}
	want := map[string]int{
		"submitted/Gastronomy":        1,
		"draft/Music":                 1,
		"endorsed/Music":              1,
		"not_endorsed/Film":           1,
		"withdrawn/Film":              1,
		"endorsed/Gastronomy":         1,
		"submitted/Film":              2,
		"under_evaluation/Gastronomy": 1,
	}
	return apps, want
}

// TestTally_FollowsEveryWrite puts dossiers and moves them on, as the engine
// does, and checks the counts after each write: only dossiers submitted at
// least once count, a move takes one from its old cell to its new one, a
// cell that falls to zero is gone, and two calls never mix.
func TestTally_FollowsEveryWrite(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "designate.db"), Options{})
	defer mustClose(t, db)
	apps, want := mixedDossiers()
	mustPut(t, db, apps...)
	assertTally(t, db, callA, want)
	assertTally(t, db, callB, map[string]int{"submitted/Film": 1, "eligible/Music": 1})
	assertTally(t, db, "creative-cities", map[string]int{})
	assertTally(t, db, "no-such-call", map[string]int{})

	steps := []struct {
		name string
		app  func() *engine.Application
		want map[string]int // changes to the callA tally; 0 removes the cell
	}{
		{"RewriteWithoutMove_CountsOnce", func() *engine.Application {
			a := dossier(2, callA, "Rouen", "FR", "Gastronomy", engine.Submitted, true)
			a.Version = 9
			return a
		}, nil},
		{"Endorse_MovesTheCount", func() *engine.Application {
			return dossier(2, callA, "Rouen", "FR", "Gastronomy", engine.Endorsed, true)
		}, map[string]int{"submitted/Gastronomy": 0, "endorsed/Gastronomy": 2}},
		{"NeverSubmittedDraftSaved_StillUncounted", func() *engine.Application {
			a := dossier(1, callA, "Cannes", "FR", "Music", engine.Draft, false)
			a.Version = 2
			return a
		}, nil},
		{"FirstSubmission_IsCounted", func() *engine.Application {
			return dossier(1, callA, "Cannes", "FR", "Music", engine.Submitted, true)
		}, map[string]int{"submitted/Music": 1}},
		{"RetractedDraftChangesField_MovesTheCount", func() *engine.Application {
			return dossier(3, callA, "Saint-Étienne", "FR", "Film", engine.Draft, true)
		}, map[string]int{"draft/Music": 0, "draft/Film": 1}},
		{"Decline_MovesTheCount", func() *engine.Application {
			return dossier(9, callA, "Gdynia", "PL", "Film", engine.NotEndorsed, true)
		}, map[string]int{"submitted/Film": 1, "not_endorsed/Film": 2}},
		{"Withdraw_MovesTheCount", func() *engine.Application {
			return dossier(5, callA, "Covilhã", "PT", "Music", engine.Withdrawn, true)
		}, map[string]int{"endorsed/Music": 0, "withdrawn/Music": 1}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			mustPut(t, db, s.app())
			for k, n := range s.want {
				if n == 0 {
					delete(want, k)
				} else {
					want[k] = n
				}
			}
			assertTally(t, db, callA, want)
			assertTally(t, db, callB, map[string]int{"submitted/Film": 1, "eligible/Music": 1})
		})
	}

	t.Run("SeveralWritesOfOneDossierInOneTransaction_CountOnce", func(t *testing.T) {
		err := db.Update(context.Background(), func(tx engine.Tx) error {
			a, err := tx.Application(fmt.Sprintf("%016d", 11))
			if err != nil {
				return err
			}
			for _, st := range []engine.State{engine.Endorsed, engine.Eligible, engine.UnderEvaluation} {
				a.State = st
				if err := tx.PutApplication(a); err != nil {
					return err
				}
			}
			fresh := dossier(15, callA, "Gimhae", "KR", "Gastronomy", engine.Submitted, true)
			if err := tx.PutApplication(fresh); err != nil {
				return err
			}
			fresh.State = engine.Endorsed
			return tx.PutApplication(fresh)
		})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		want["submitted/Film"]--
		want["under_evaluation/Film"]++
		want["endorsed/Gastronomy"]++
		if want["submitted/Film"] == 0 {
			delete(want, "submitted/Film")
		}
		assertTally(t, db, callA, want)
	})
}

// TestTally_RefusedWrite_LeavesTheCounts checks that a transaction that put
// a dossier and then refused is rolled back, its counts with it.
func TestTally_RefusedWrite_LeavesTheCounts(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "designate.db"), Options{})
	defer mustClose(t, db)
	apps, want := mixedDossiers()
	mustPut(t, db, apps...)

	refusal := engine.Errorf(engine.EQUOTAEXCEEDED, "The country's quota is reached.")
	err := db.Update(context.Background(), func(tx engine.Tx) error {
		a, err := tx.Application(fmt.Sprintf("%016d", 9))
		if err != nil {
			return err
		}
		a.State = engine.Endorsed
		if err := tx.PutApplication(a); err != nil {
			return err
		}
		if err := tx.PutApplication(dossier(20, callA, "Gimhae", "KR", "Gastronomy", engine.Submitted, true)); err != nil {
			return err
		}
		return refusal
	})
	if !errors.Is(err, refusal) {
		t.Fatalf("update = %v, want the refusal %v", err, refusal)
	}
	assertTally(t, db, callA, want)
}

// TestOpen_OlderSchema_BuildsTheTally opens a file as an older program left
// it (no tally bucket; schema "1" or no schema at all) and checks that Open
// counts the stored dossiers, records schema "2", and keeps the counts in
// step from then on.
func TestOpen_OlderSchema_BuildsTheTally(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		stale         bool // leave a wrong tally behind the old version
	}{
		{"SchemaOne", "1", false},
		{"NoSchema", "", false},
		{"SchemaOneWithAStaleTally", "1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "designate.db")
			db := mustOpen(t, path, Options{})
			apps, want := mixedDossiers()
			mustPut(t, db, apps...)
			kept := tallyOf(t, db, callA)
			if !maps.Equal(kept, want) {
				t.Fatalf("before the downgrade, tally = %v, want %v", sorted(kept), sorted(want))
			}
			mustClose(t, db)

			downgrade(t, path, tc.version)
			if tc.stale {
				rawUpdate(t, path, func(tx *bolt.Tx) error {
					b, err := tx.CreateBucket(bucketTally)
					if err != nil {
						return err
					}
					// A count no dossier backs, and one too low.
					if err := b.Put([]byte(callA+"\x00designated\x00Film"), []byte{0, 0, 0, 0, 0, 0, 0, 7}); err != nil {
						return err
					}
					return b.Put([]byte(callA+"\x00submitted\x00Film"), []byte{0, 0, 0, 0, 0, 0, 0, 1})
				})
			}
			if got := schemaOf(t, path); got != tc.version {
				t.Fatalf("after the downgrade the schema is %q, want %q", got, tc.version)
			}

			db = mustOpen(t, path, Options{})
			assertTally(t, db, callA, want)
			assertTally(t, db, callB, map[string]int{"submitted/Film": 1, "eligible/Music": 1})

			// Written on from here, it stays in step.
			mustPut(t, db, dossier(9, callA, "Gdynia", "PL", "Film", engine.Endorsed, true))
			want["submitted/Film"]--
			want["endorsed/Film"]++
			assertTally(t, db, callA, want)

			mustClose(t, db)
			if got := schemaOf(t, path); got != schemaVersion {
				t.Fatalf("after the migration the schema is %q, want %q", got, schemaVersion)
			}
			db = mustOpen(t, path, Options{})
			defer mustClose(t, db)
			assertTally(t, db, callA, want)
		})
	}
}

// TestOpen_EmptyDatabase_IsAtTheCurrentSchema creates a file and checks it
// records the current version and has an empty tally.
func TestOpen_EmptyDatabase_IsAtTheCurrentSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "designate.db")
	db := mustOpen(t, path, Options{})
	assertTally(t, db, callA, map[string]int{})
	mustClose(t, db)
	if got := schemaOf(t, path); got != schemaVersion {
		t.Fatalf("a new database records schema %q, want %q", got, schemaVersion)
	}
}

// TestOpen_NewerSchema_Fails opens a file a newer program wrote: Open must
// refuse, name the version, leave the file as it was and release it.
func TestOpen_NewerSchema_Fails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "designate.db")
	db := mustOpen(t, path, Options{})
	apps, want := mixedDossiers()
	mustPut(t, db, apps...)
	mustClose(t, db)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("schema"), []byte("99"))
	})

	db, err := Open(path, Options{OpenTimeout: 200 * time.Millisecond})
	if err == nil {
		db.Close()
		t.Fatal("Open of a schema 99 database succeeded, want an error")
	}
	if msg := err.Error(); !strings.Contains(msg, "99") || !strings.Contains(msg, "newer") {
		t.Fatalf("Open error = %q, want it to say that version 99 is newer than this program", msg)
	}
	if errors.Is(err, ErrLocked) {
		t.Fatalf("Open error = %v, want a version error, not %v", err, ErrLocked)
	}
	// The file is released (a second open does not time out on the lock)
	// and untouched.
	if got := schemaOf(t, path); got != "99" {
		t.Fatalf("after the refused open the schema is %q, want %q left alone", got, "99")
	}
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("schema"), []byte(schemaVersion))
	})
	db = mustOpen(t, path, Options{})
	defer mustClose(t, db)
	assertTally(t, db, callA, want)
}

// TestOpen_ReadOnlyOfSchemaOne_IsRefused opens a schema 1 file read only
// (a backup check): nothing migrates it, and the open must say so rather
// than read an older layout as the current one, and leave the file alone.
func TestOpen_ReadOnlyOfSchemaOne_IsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "designate.db")
	db := mustOpen(t, path, Options{})
	apps, _ := mixedDossiers()
	mustPut(t, db, apps...)
	mustClose(t, db)
	downgrade(t, path, "1")

	db, err := Open(path, Options{ReadOnly: true})
	if err == nil {
		db.Close()
		t.Fatal("a read-only open of a schema 1 file succeeded, want a refusal")
	}
	if !strings.Contains(err.Error(), `"1"`) || !strings.Contains(err.Error(), "server") {
		t.Errorf("Open error = %q, want it to name version 1 and the server that migrates it", err)
	}
	if got := schemaOf(t, path); got != "1" {
		t.Fatalf("a read-only open changed the schema to %q, want it left at %q", got, "1")
	}
}

// joinDossiers undoes the split of schema 3: each dossier's head, body and
// files become one whole record again, as schema 2 kept it.
func joinDossiers(tx *bolt.Tx) error {
	apps := tx.Bucket(bucketApps)
	var whole [][2][]byte
	err := apps.ForEach(func(k, v []byte) error {
		a, err := storedDossier(tx, k, v)
		if err != nil {
			return fmt.Errorf("dossier %s: %w", k, err)
		}
		raw, err := json.Marshal(a)
		whole = append(whole, [2][]byte{bytes.Clone(k), raw})
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range whole {
		if err := apps.Put(r[0], r[1]); err != nil {
			return err
		}
	}
	for _, part := range [][]byte{bucketBodies, bucketDossierFiles} {
		if err := tx.DeleteBucket(part); err != nil {
			return err
		}
	}
	// Nor had schema 2 the index of the dossiers that left draft by state.
	var stale [][]byte
	c := tx.Bucket(bucketIndex).Cursor()
	for k, _ := c.Seek([]byte{idxLeftState}); k != nil && k[0] == idxLeftState; k, _ = c.Next() {
		stale = append(stale, bytes.Clone(k))
	}
	for _, k := range stale {
		if err := tx.Bucket(bucketIndex).Delete(k); err != nil {
			return err
		}
	}
	return nil
}
