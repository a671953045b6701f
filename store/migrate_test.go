package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// schemaTwo is a database written by the release before schema 3 (the
// demo call, 49 dossiers in draft, submitted and endorsed, with files,
// history, sessions and outbox messages), made through its API.
const schemaTwo = "testdata/schema2/designate.db"

// copySchemaTwo copies the schema 2 file into a temporary directory.
func copySchemaTwo(tb testing.TB) string {
	tb.Helper()
	raw, err := os.ReadFile(schemaTwo)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "designate.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// wholeRecords reads every bucket but the dossiers' as bytes, and every
// dossier's whole record decoded, with bbolt itself.
func wholeRecords(tb testing.TB, path string) (map[string]*engine.Application, map[string]map[string][]byte) {
	tb.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Close()
	apps := map[string]*engine.Application{}
	others := map[string]map[string][]byte{}
	err = b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			if bytes.Equal(name, bucketApps) {
				return bk.ForEach(func(k, v []byte) error {
					var a engine.Application
					apps[string(k)] = &a
					return json.Unmarshal(v, &a)
				})
			}
			if bytes.Equal(name, bucketMeta) {
				return nil
			}
			m := map[string][]byte{}
			others[string(name)] = m
			return bk.ForEach(func(k, v []byte) error { m[string(k)] = bytes.Clone(v); return nil })
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return apps, others
}

// assertNothingLost checks that the migrated file holds every dossier as
// the schema 2 record had it, every other record byte for byte, and passes
// the integrity check.
func assertNothingLost(t *testing.T, path string, want map[string]*engine.Application, others map[string]map[string][]byte) {
	t.Helper()
	if got := schemaOf(t, path); got != schemaVersion {
		t.Fatalf("schema %q after the migration, want %q", got, schemaVersion)
	}
	if got := ckProblems(t, path); len(got) != 0 {
		t.Fatalf("the migrated file has problems:\n%s", strings.Join(got, "\n"))
	}
	db := mustOpen(t, path, Options{ReadOnly: true})
	defer mustClose(t, db)
	err := db.View(context.Background(), func(tx engine.ReadTx) error {
		for id, w := range want {
			a, err := tx.Application(id)
			if err != nil {
				return err
			}
			gotJSON, _ := json.Marshal(a)
			wantJSON, _ := json.Marshal(w)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("dossier %s after the migration:\n%s\nwant\n%s", id, gotJSON, wantJSON)
			}
		}
		heads, _, err := tx.Applications(engine.Query{Limit: engine.MaxPageSize})
		if err != nil {
			return err
		}
		if len(heads) != len(want) {
			t.Errorf("the list has %d dossiers, want %d", len(heads), len(want))
		}
		for _, h := range heads {
			w := want[h.ID]
			if w == nil {
				t.Errorf("listed %s, which the schema 2 file did not hold", h.ID)
				continue
			}
			gotJSON, _ := json.Marshal(h)
			wantJSON, _ := json.Marshal(&w.Summary)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("listed head\n%s\nwant\n%s", gotJSON, wantJSON)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, after := wholeRecords(t, path)
	// Schema 3 adds one index entry for each dossier that left draft: its
	// state among those (the check above holds each to its dossier).
	leftDraft := 0
	for _, a := range want {
		if a.LeftDraft() {
			leftDraft++
			delete(after[string(bucketIndex)], string(append(indexPrefix(idxLeftState, string(a.State)), a.ID...)))
		}
	}
	if leftDraft == 0 {
		t.Fatal("no dossier of the fixture left draft: the new index is not tested")
	}
	for name, records := range others {
		for k, v := range records {
			if !bytes.Equal(after[name][k], v) {
				t.Errorf("bucket %s key %q changed in the migration", name, k)
			}
		}
		if len(after[name]) != len(records) {
			t.Errorf("bucket %s holds %d records after the migration (less the new entries), %d before", name, len(after[name]), len(records))
		}
	}
}

// TestMigrate_SchemaTwo_LosesNothing opens a file the previous release
// wrote: every dossier reads back as its whole record had it, every other
// record is untouched, and the check is clean.
func TestMigrate_SchemaTwo_LosesNothing(t *testing.T) {
	path := copySchemaTwo(t)
	want, others := wholeRecords(t, path)
	if len(want) != 49 {
		t.Fatalf("the schema 2 file holds %d dossiers, want the 49 it was made with", len(want))
	}
	var log bytes.Buffer
	db := mustOpen(t, path, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	mustClose(t, db)
	if !strings.Contains(log.String(), "migrated the database to schema 3") || !strings.Contains(log.String(), "dossiers=49") {
		t.Errorf("the log says\n%s\nwant the migration and its 49 dossiers", log.String())
	}
	assertNothingLost(t, path, want, others)
}

// TestMigrate_KilledHalfWay_Resumes stops a migration after its second
// chunk, as a kill would: the file is left half split, says so, and the
// next open finishes the work without losing or repeating any.
func TestMigrate_KilledHalfWay_Resumes(t *testing.T) {
	path := copySchemaTwo(t)
	want, others := wholeRecords(t, path)
	defer func(n int) { splitChunk, afterSplitChunk = n, nil }(splitChunk)
	splitChunk = 10
	killed := errors.New("killed")
	afterSplitChunk = func(done int) error {
		if done == 20 {
			return killed
		}
		return nil
	}
	if _, err := Open(path, Options{OpenTimeout: time.Second}); !errors.Is(err, killed) {
		t.Fatalf("open = %v, want the migration stopped by %v", err, killed)
	}
	// Half split, the file says so in a version the previous release
	// refuses, rather than the "2" it would read split dossiers from as
	// empty ones.
	if got := schemaOf(t, path); got != schemaSplitting {
		t.Fatalf("schema %q after a migration stopped half-way, want %q", got, schemaSplitting)
	}
	if db, err := Open(path, Options{ReadOnly: true}); err == nil {
		db.Close()
		t.Fatal("a read-only open of a half-split file succeeded, want a refusal")
	}
	afterSplitChunk = nil
	var log bytes.Buffer
	db := mustOpen(t, path, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	mustClose(t, db)
	if !strings.Contains(log.String(), "resuming_after=") || strings.Contains(log.String(), `resuming_after=""`) {
		t.Errorf("the second open's log says\n%s\nwant it to resume after the 20th dossier", log.String())
	}
	assertNothingLost(t, path, want, others)
}
