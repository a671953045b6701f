package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"designate/engine"
)

// A dossier is stored in three parts under its id, so that what changes
// often is small and what is large is written only when it changes:
//
//   - its head (engine.Summary) in bucketApps: ids, state, version, times,
//     digest; a few hundred bytes, rewritten by every move;
//   - its body (contacts and sections) in bucketBodies: up to hundreds of
//     kilobytes, rewritten only by a save that changes it;
//   - its attachment list in bucketDossierFiles, rewritten only by an
//     upload, a replacement or a deletion.
//
// A list reads heads only. Schema 2 kept the whole dossier in one record,
// so a submission or a lapse decoded, re-encoded and rewrote 22 KB for a
// change of a few bytes (see migrate.go for the move from it).
var (
	bucketBodies       = []byte("bodies")
	bucketDossierFiles = []byte("dossier_files")
)

// body is a dossier's body as stored.
type body struct {
	Contacts engine.Contacts   `json:"contacts"`
	Sections map[string]string `json:"sections"`
}

func cloneBody(b *body) *body {
	c := *b
	c.Sections = maps.Clone(b.Sections)
	return &c
}

// headKeys are the index and tally keys of a dossier's head as this
// transaction last read or wrote it.
type headKeys struct {
	index [][]byte
	tally []byte
}

// bodyRead is a dossier's body and files as this transaction last read or
// wrote them: a later PutApplication writes a part only if it differs.
type bodyRead struct {
	body  body
	files []engine.Attachment
}

func (t *tx) rememberHead(h *engine.Summary) headKeys {
	if t.heads == nil {
		t.heads = map[string]headKeys{}
	}
	k := headKeys{index: headIndexKeys(h), tally: tallyKey(h)}
	t.heads[h.ID] = k
	return k
}

func (t *tx) rememberBody(id string, b *body, files []engine.Attachment) {
	if t.bodies == nil {
		t.bodies = map[string]*bodyRead{}
	}
	// Copies: the engine changes the dossier it was given in place.
	t.bodies[id] = &bodyRead{body: *cloneBody(b), files: slices.Clone(files)}
}

// head returns the dossier's head. Returns ENOTFOUND if there is none.
func (t *tx) head(id string) (*engine.Summary, error) {
	raw := t.bucket(bucketApps).Get([]byte(id))
	if raw == nil {
		return nil, engine.Errorf(engine.ENOTFOUND, "No such dossier.")
	}
	var h engine.Summary
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decode dossier %q: %w", id, err)
	}
	t.rememberHead(&h)
	return &h, nil
}

// Application returns the whole dossier. Returns ENOTFOUND if there is
// none.
func (t *tx) Application(id string) (*engine.Application, error) {
	h, err := t.head(id)
	if err != nil {
		return nil, err
	}
	a := &engine.Application{Summary: *h}
	b, err := t.body(id)
	if err != nil {
		return nil, err
	}
	a.Contacts, a.Sections = b.Contacts, b.Sections
	if a.Attachments, err = t.files(id); err != nil {
		return nil, err
	}
	t.rememberBody(id, b, a.Attachments)
	return a, nil
}

// fileList is a dossier's attachment list as the cache keeps it.
type fileList []engine.Attachment

func cloneFiles(f *fileList) *fileList {
	c := fileList(slices.Clone(*f))
	return &c
}

// files decodes the dossier's stored list of files, or copies the one kept
// decoded from the same bytes.
func (t *tx) files(id string) ([]engine.Attachment, error) {
	raw := t.bucket(bucketDossierFiles).Get([]byte(id))
	if raw == nil {
		return nil, nil
	}
	if f, ok := t.cache.files.get(id, raw); ok {
		return *f, nil
	}
	var f fileList
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("decode the files of dossier %q: %w", id, err)
	}
	kept, copied := bytes.Clone(raw), cloneFiles(&f)
	t.later(func() { t.cache.files.put(id, kept, copied) })
	return f, nil
}

// body decodes the dossier's stored body, or copies the one kept decoded
// from the same bytes: the body is what is costly to decode.
func (t *tx) body(id string) (*body, error) {
	raw := t.bucket(bucketBodies).Get([]byte(id))
	if raw == nil {
		return nil, fmt.Errorf("dossier %q has no body", id)
	}
	if b, ok := t.cache.bodies.get(id, raw); ok {
		return b, nil
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decode the body of dossier %q: %w", id, err)
	}
	// The cache gets a copy of its own: the engine may change the one it
	// is given before the cache's put, which in a first half waits.
	kept, copied := bytes.Clone(raw), cloneBody(&b)
	t.later(func() { t.cache.bodies.put(id, kept, copied) })
	return &b, nil
}

// later runs a put into the shared cache now or, in the first half of an
// optimistic write (see optimistic), once the write is applied: a write
// decided on a snapshot and then run again must not replace the entry of
// what is really stored. What it puts must be a copy of its own.
func (t *tx) later(put func()) {
	if t.opt != nil {
		t.opt.keep = append(t.opt.keep, put)
		return
	}
	put()
}

// PutSummary stores the dossier's head and moves its index entries and
// tally count, leaving its body and files as they are: a move.
func (t *tx) PutSummary(h *engine.Summary) error {
	old, known := t.heads[h.ID]
	if !known {
		if _, err := t.head(h.ID); err == nil {
			old, known = t.heads[h.ID], true
		} else if engine.ErrorCode(err) != engine.ENOTFOUND {
			return err
		}
	}
	next := t.rememberHead(h)
	if err := t.moveIndex(old.index, next.index); err != nil {
		return err
	}
	if !known || !bytes.Equal(old.tally, next.tally) {
		tally := t.bucket(bucketTally)
		if known {
			if err := addTally(tally, old.tally, -1); err != nil {
				return err
			}
		}
		if err := addTally(tally, next.tally, 1); err != nil {
			return err
		}
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	t.wrote = true
	return t.bucket(bucketApps).Put([]byte(h.ID), raw)
}

// PutApplication stores the whole dossier: its head, and its body and
// files where they differ from what this transaction read (all of them for
// a dossier it did not read).
func (t *tx) PutApplication(a *engine.Application) error {
	if err := t.PutSummary(&a.Summary); err != nil {
		return err
	}
	prev := t.bodies[a.ID]
	var oldFiles []engine.Attachment
	if prev != nil {
		oldFiles = prev.files
	} else if raw := t.bucket(bucketDossierFiles).Get([]byte(a.ID)); raw != nil {
		if err := json.Unmarshal(raw, &oldFiles); err != nil {
			return fmt.Errorf("decode the files of dossier %q: %w", a.ID, err)
		}
	}
	b := &body{Contacts: a.Contacts, Sections: a.Sections}
	if prev == nil || prev.body.Contacts != b.Contacts || !sameSections(prev.body.Sections, b.Sections) {
		raw, err := json.Marshal(b)
		if err != nil {
			return err
		}
		if err := t.bucket(bucketBodies).Put([]byte(a.ID), raw); err != nil {
			return err
		}
		// The next read, most likely the next save, finds it decoded.
		copied := cloneBody(b)
		t.later(func() { t.cache.bodies.put(a.ID, raw, copied) })
	}
	if prev == nil || !sameFiles(prev.files, a.Attachments) {
		if err := t.moveIndex(fileIndexKeys(a.ID, oldFiles), fileIndexKeys(a.ID, a.Attachments)); err != nil {
			return err
		}
		raw, err := json.Marshal(a.Attachments)
		if err != nil {
			return err
		}
		if err := t.bucket(bucketDossierFiles).Put([]byte(a.ID), raw); err != nil {
			return err
		}
		copied := fileList(slices.Clone(a.Attachments))
		t.later(func() { t.cache.files.put(a.ID, raw, &copied) })
	}
	t.rememberBody(a.ID, b, a.Attachments)
	return nil
}

// sameSections reports whether two bodies' sections are the same, keeping
// nil apart from empty so that what is stored decodes as it was put.
func sameSections(a, b map[string]string) bool {
	return (a == nil) == (b == nil) && maps.Equal(a, b)
}

// sameFiles reports whether two lists of files are the same, nil apart
// from empty.
func sameFiles(a, b []engine.Attachment) bool {
	return (a == nil) == (b == nil) && slices.EqualFunc(a, b, func(x, y engine.Attachment) bool {
		same := x.UploadedAt.Equal(y.UploadedAt)
		x.UploadedAt = y.UploadedAt
		return same && x == y
	})
}

// moveIndex deletes the entries of old that next lacks and adds those of
// next that old lacks.
func (t *tx) moveIndex(old, next [][]byte) error {
	idx := t.bucket(bucketIndex)
	for _, k := range old {
		if !containsKey(next, k) {
			t.wrote = true
			if err := idx.Delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range next {
		if !containsKey(old, k) {
			t.wrote = true
			if err := idx.Put(k, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
