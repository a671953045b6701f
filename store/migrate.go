package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// The migrations a database goes through at its first open by a newer
// release, each recorded by the schema version it leaves in bucketMeta:
//
//	"" or "1" → "2": count the tally;
//	"2" → "3": split every dossier into head, body and files (dossier.go),
//	through "3-splitting" while it is under way.
var (
	keySchema = []byte("schema")
	// schemaSplitting marks a file whose move to schema 3 is under way:
	// some dossiers are split, others whole. The previous release refuses
	// it (it is not a version it knows), so an operator who stops the
	// migration and goes back to that release cannot read split dossiers
	// as empty ones, nor write whole records the resumed split would skip.
	schemaSplitting = "3-splitting"
	// keySplitAfter is the id of the last dossier split while the move to
	// schema 3 is under way: a migration killed half-way resumes after it.
	keySplitAfter = []byte("split_after")
)

// splitChunk is how many dossiers one transaction of the move to schema 3
// splits: each transaction's dirty pages stay bounded (a few megabytes at
// 22 KB a dossier), and a kill loses at most one chunk's work. A variable
// so that a test can kill a migration between chunks of a small file.
var splitChunk = 2000

// afterSplitChunk, when set (by tests), runs after each chunk commits; an
// error stops the migration there, as a kill would.
var afterSplitChunk func(done int) error

// migrate brings the database to schemaVersion. Each step commits with the
// version it reached, so a migration killed at any point resumes where it
// stopped at the next open.
func migrate(b *bolt.DB, log *slog.Logger) error {
	err := b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		// Its own step, not a schema version: built whenever its bucket
		// is missing.
		if err := buildUserIndex(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		switch v := string(meta.Get(keySchema)); v {
		case "2", schemaSplitting, schemaVersion:
			return nil
		case "", "1":
			if tx.Bucket(bucketApps).Stats().KeyN == 0 {
				// A new database: nothing to migrate.
				return meta.Put(keySchema, []byte(schemaVersion))
			}
			// Version 1 had no tally: count what is stored, in the same
			// transaction as the version that says it is there.
			counts, err := buildTally(tx)
			if err != nil {
				return err
			}
			if err := writeTally(tx, counts); err != nil {
				return err
			}
			return meta.Put(keySchema, []byte("2"))
		default:
			return fmt.Errorf("schema version %q is newer than this program (%s)", v, schemaVersion)
		}
	})
	if err != nil {
		return err
	}
	return splitDossiers(b, log)
}

// splitDossiers moves a schema-2 database to schema 3: every whole dossier
// record becomes a head, a body and a list of files, splitChunk dossiers a
// transaction, in id order, with the last id done kept beside them. The
// tally and the index stay as they are, but for schema 3's entries of the
// dossiers that left draft by state (idxLeftState), added.
func splitDossiers(b *bolt.DB, log *slog.Logger) error {
	var total int
	var after []byte
	err := b.View(func(tx *bolt.Tx) error {
		if v := string(tx.Bucket(bucketMeta).Get(keySchema)); v != "2" && v != schemaSplitting {
			total = -1
			return nil
		}
		total = tx.Bucket(bucketApps).Stats().KeyN
		after = bytes.Clone(tx.Bucket(bucketMeta).Get(keySplitAfter))
		return nil
	})
	if err != nil || total < 0 {
		return err
	}
	log.Info("migrating the database to schema 3: each dossier's head apart from its body", "dossiers", total, "resuming_after", string(after))
	done := 0
	for {
		var n int
		err := b.Update(func(tx *bolt.Tx) error {
			var err error
			n, after, err = splitChunkAfter(tx, after)
			if err != nil {
				return err
			}
			meta := tx.Bucket(bucketMeta)
			if n < splitChunk {
				if err := meta.Delete(keySplitAfter); err != nil {
					return err
				}
				return meta.Put(keySchema, []byte(schemaVersion))
			}
			if err := meta.Put(keySchema, []byte(schemaSplitting)); err != nil {
				return err
			}
			return meta.Put(keySplitAfter, after)
		})
		if err != nil {
			return fmt.Errorf("migrate to schema 3 after dossier %q: %w", after, err)
		}
		done += n
		if n < splitChunk {
			log.Info("migrated the database to schema 3", "dossiers", done)
			return nil
		}
		log.Info("migrating the database to schema 3", "done", done, "of", total)
		if afterSplitChunk != nil {
			if err := afterSplitChunk(done); err != nil {
				return err
			}
		}
	}
}

// splitChunkAfter splits up to splitChunk dossiers after the id after,
// returning how many and the last id.
func splitChunkAfter(tx *bolt.Tx, after []byte) (int, []byte, error) {
	apps := tx.Bucket(bucketApps)
	type record struct{ id, raw []byte }
	var chunk []record
	// Read first, write after: bbolt's cursors are not to be trusted over
	// a bucket written while they walk it.
	c := apps.Cursor()
	k, v := c.Seek(after)
	if k != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	for ; k != nil && len(chunk) < splitChunk; k, v = c.Next() {
		chunk = append(chunk, record{bytes.Clone(k), bytes.Clone(v)})
	}
	for _, r := range chunk {
		var a engine.Application
		if err := json.Unmarshal(r.raw, &a); err != nil {
			return 0, nil, fmt.Errorf("decode dossier %s: %w", r.id, err)
		}
		head, err := json.Marshal(&a.Summary)
		if err != nil {
			return 0, nil, err
		}
		b, err := json.Marshal(&body{Contacts: a.Contacts, Sections: a.Sections})
		if err != nil {
			return 0, nil, err
		}
		files, err := json.Marshal(a.Attachments)
		if err != nil {
			return 0, nil, err
		}
		if err := apps.Put(r.id, head); err != nil {
			return 0, nil, err
		}
		if err := tx.Bucket(bucketBodies).Put(r.id, b); err != nil {
			return 0, nil, err
		}
		if err := tx.Bucket(bucketDossierFiles).Put(r.id, files); err != nil {
			return 0, nil, err
		}
		// Schema 3's index of the dossiers that left draft, by state.
		if a.LeftDraft() {
			if err := tx.Bucket(bucketIndex).Put(append(indexPrefix(idxLeftState, string(a.State)), r.id...), nil); err != nil {
				return 0, nil, err
			}
		}
	}
	if len(chunk) == 0 {
		return 0, after, nil
	}
	return len(chunk), slices.Clone(chunk[len(chunk)-1].id), nil
}
