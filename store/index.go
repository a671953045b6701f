package store

import (
	"bytes"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// Index keys: one byte naming the attribute, its value, a NUL, then the
// dossier id. The engine refuses NUL and control characters in every value,
// so a prefix never runs into another value. Each attribute has its own
// index and a query intersects those it filters on (see Applications), so
// every combination of filters is served without scanning the dossiers.
const (
	idxCall      = 'c'
	idxState     = 's'
	idxCountry   = 'n'
	idxField     = 'f'
	idxCity      = 'y'
	idxLeftDraft = 'v' // present only for dossiers submitted at least once
	// idxLeftState is the state of the dossiers submitted at least once:
	// the staff's lists by state (retracted drafts above all) read one
	// prefix instead of intersecting a state with idxLeftDraft, which at
	// 1,000,000 dossiers took 35 ms a page against 2 ms for the others.
	idxLeftState = 'w'
	// idxEvaluator is kept by the assignments, not the dossier: evaluator
	// id, NUL, dossier id.
	idxEvaluator = 'a'
	// idxFile names the dossiers that hold a file: its SHA-256, NUL,
	// dossier id. A kept file with no entry is an orphan.
	idxFile = 'b'
)

func indexPrefix(kind byte, value string) []byte {
	p := make([]byte, 0, 2+len(value)+engine.IDLen)
	p = append(p, kind)
	p = append(p, value...)
	return append(p, 0)
}

// indexKeys are every index entry the dossier has: its head's and its
// files'.
func indexKeys(a *engine.Application) [][]byte {
	return append(headIndexKeys(&a.Summary), fileIndexKeys(a.ID, a.Attachments)...)
}

// headIndexKeys are the index entries the dossier's head gives.
func headIndexKeys(a *engine.Summary) [][]byte {
	keys := [][]byte{
		append(indexPrefix(idxCall, a.Call), a.ID...),
		append(indexPrefix(idxState, string(a.State)), a.ID...),
		append(indexPrefix(idxCountry, a.Country), a.ID...),
		append(indexPrefix(idxField, a.Field), a.ID...),
		append(indexPrefix(idxCity, a.City), a.ID...),
	}
	if a.LeftDraft() {
		keys = append(keys, append(indexPrefix(idxLeftDraft, ""), a.ID...),
			append(indexPrefix(idxLeftState, string(a.State)), a.ID...))
	}
	return keys
}

// fileIndexKeys are the entries naming the files the dossier holds, one per
// distinct file.
func fileIndexKeys(id string, files []engine.Attachment) [][]byte {
	var keys [][]byte
	for _, at := range files {
		if k := append(indexPrefix(idxFile, at.SHA256), id...); !containsKey(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// FileUsed reports whether any dossier names the file.
func (t *tx) FileUsed(digest string) (bool, error) {
	p := indexPrefix(idxFile, digest)
	k, _ := t.bucket(bucketIndex).Cursor().Seek(p)
	return k != nil && bytes.HasPrefix(k, p), nil
}

// prefixes returns the index prefix of every filter q sets.
func prefixes(q engine.Query) [][]byte {
	var ps [][]byte
	add := func(kind byte, v string) {
		if v != "" {
			ps = append(ps, indexPrefix(kind, v))
		}
	}
	add(idxCall, q.Call)
	switch {
	case q.LeftDraft && q.State != "":
		// One index says both.
		add(idxLeftState, string(q.State))
	case q.LeftDraft:
		ps = append(ps, indexPrefix(idxLeftDraft, ""))
	default:
		add(idxState, string(q.State))
	}
	add(idxCountry, q.Country)
	add(idxField, q.Field)
	add(idxCity, q.City)
	add(idxEvaluator, q.Evaluator)
	return ps
}

// Applications returns one page of the dossiers that match every filter of
// q, in id order. With filters it walks their indexes together (a zig-zag
// merge join): each cursor seeks straight to the largest id any other has
// reached, so the cost follows the size of the answer, not of the indexes.
func (t *tx) Applications(q engine.Query) ([]*engine.Summary, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = engine.DefaultPageSize
	}
	var ids [][]byte
	if q.CityContains != "" {
		ids = t.matchingCityText(q, limit+1)
	} else {
		ids = t.matchingIDs(prefixes(q), q.After, limit+1)
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = string(ids[limit-1])
	}
	items := make([]*engine.Summary, 0, len(ids))
	for _, id := range ids {
		h, err := t.head(string(id))
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return nil, "", fmt.Errorf("index names dossier %s, which is missing", id)
		} else if err != nil {
			return nil, "", err
		}
		items = append(items, h)
	}
	return items, next, nil
}

// matchingCityText answers a search on city names. Cities are far fewer
// than dossiers, so it walks the city index one name at a time (a seek past
// each name's ids), keeps the names that contain the folded text, and
// merges the pages of each matching name with the other filters.
func (t *tx) matchingCityText(q engine.Query, n int) [][]byte {
	want := engine.Fold(q.CityContains)
	base := prefixes(q)
	c := t.bucket(bucketIndex).Cursor()
	var lists [][][]byte
	for k, _ := c.Seek([]byte{idxCity}); k != nil && k[0] == idxCity; {
		city, _, ok := bytes.Cut(k[1:], []byte{0})
		if !ok {
			break
		}
		if (q.City == "" || q.City == string(city)) && strings.Contains(engine.Fold(string(city)), want) {
			ps := append(append([][]byte(nil), base...), indexPrefix(idxCity, string(city)))
			if ids := t.matchingIDs(ps, q.After, n); len(ids) > 0 {
				lists = append(lists, ids)
			}
		}
		// The next name: past every id of this one (ids never hold 0xFF).
		k, _ = c.Seek(append(indexPrefix(idxCity, string(city)), 0xFF))
	}
	return mergeIDs(lists, n)
}

// mergeIDs returns the first n ids of the union of sorted lists.
func mergeIDs(lists [][][]byte, n int) [][]byte {
	var out [][]byte
	for len(out) < n {
		best := -1
		for i, l := range lists {
			if len(l) > 0 && (best < 0 || bytes.Compare(l[0], lists[best][0]) < 0) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		id := lists[best][0]
		for i := range lists {
			if len(lists[i]) > 0 && bytes.Equal(lists[i][0], id) {
				lists[i] = lists[i][1:]
			}
		}
		out = append(out, id)
	}
	return out
}

// matchingIDs returns up to n ids greater than after present under every
// prefix (or, with no prefix, every dossier id).
func (t *tx) matchingIDs(ps [][]byte, after string, n int) [][]byte {
	var out [][]byte
	if len(ps) == 0 {
		c := t.bucket(bucketApps).Cursor()
		k, _ := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, _ = c.Next()
		}
		for ; k != nil && len(out) < n; k, _ = c.Next() {
			out = append(out, append([]byte(nil), k...))
		}
		return out
	}
	idx := t.bucket(bucketIndex)
	cursors := make([]*bolt.Cursor, len(ps))
	for i := range ps {
		cursors[i] = idx.Cursor()
	}
	// seek positions cursor i at the first id >= target under its prefix
	// (> target when strict), or reports that it ran out.
	seek := func(i int, target []byte, strict bool) ([]byte, bool) {
		key := append(append([]byte(nil), ps[i]...), target...)
		k, _ := cursors[i].Seek(key)
		// Compare whole keys: past its prefix the cursor may stand on a
		// shorter key of another index.
		if strict && bytes.Equal(k, key) {
			k, _ = cursors[i].Next()
		}
		if k == nil || !bytes.HasPrefix(k, ps[i]) {
			return nil, false
		}
		return k[len(ps[i]):], true
	}
	// Leapfrog: the first index proposes a candidate; each other index
	// either has it or names a larger id, from which the first seeks again.
	target, strict := []byte(after), true
	for len(out) < n {
		cand, ok := seek(0, target, strict)
		if !ok {
			return out
		}
		cand = append([]byte(nil), cand...)
		matched := true
		for i := 1; i < len(cursors); i++ {
			id, ok := seek(i, cand, false)
			if !ok {
				return out
			}
			if !bytes.Equal(id, cand) {
				target, strict, matched = append([]byte(nil), id...), false, false
				break
			}
		}
		if matched {
			out = append(out, cand)
			target, strict = cand, true
		}
	}
	return out
}
