package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// CheckIntegrity verifies, in one read transaction, everything the store
// derives from its records against the records themselves, both ways:
//
//   - every dossier has each index entry PutApplication writes for it, and
//     every index entry is one its dossier's record gives (by call, state,
//     country, field, city, left draft, file); every evaluator entry is an
//     assignment's;
//   - the tally equals a recount of the dossiers that left draft;
//   - each outbox message is in the queues its state puts it in
//     (outbox_pending, outbox_held, outbox_state), and every queue entry is
//     a message's;
//   - assignments, reviews, conflicts and history belong to existing
//     dossiers (and accounts); a review has its assignment; a conflict of
//     interest ended its assignment;
//   - the e-mail index and the accounts agree, and so do the index by role
//     and place (users_by) and the accounts; every session belongs to an
//     existing account and is listed under it, and back;
//   - every record is stored under its own id, and decodes;
//   - the schema version is one this program knows, and every bucket is
//     there.
//
// It streams every bucket with cursors. What it holds besides is a count
// per index kind and per queue, and the recounted tally (one integer per
// call, state and field). Entries no record gives are found by counting:
// only an index kind or a queue whose count exceeds what the records give
// is walked again, entry by entry, to name them.
func (db *DB) CheckIntegrity(ctx context.Context, problem func(engine.Problem)) ([]engine.Checked, error) {
	var checked []engine.Checked
	err := db.bolt.View(func(btx *bolt.Tx) error {
		c := &checker{ctx: ctx, btx: btx, problem: problem}
		err := c.run()
		checked = c.checked
		return err
	})
	return checked, err
}

// checker is one run of CheckIntegrity.
type checker struct {
	ctx     context.Context
	btx     *bolt.Tx
	problem func(engine.Problem)
	checked []engine.Checked
	visited int

	// What the dossiers give, from the dossier pass: index entries by kind
	// (and how many of them are missing), and the tally recounted.
	expected, missing map[byte]int
	tally             map[string]int64
}

func (c *checker) report(where, format string, args ...any) {
	c.problem(engine.Problem{Where: where, What: fmt.Sprintf(format, args...)})
}

func (c *checker) count(what string, n int) {
	c.checked = append(c.checked, engine.Checked{What: what, N: n})
}

// tick is called for every entry visited; it looks at the context now and
// then, so a cancelled check stops.
func (c *checker) tick() error {
	c.visited++
	if c.visited%4096 == 0 {
		return c.ctx.Err()
	}
	return nil
}

func (c *checker) bucket(name []byte) *bolt.Bucket { return c.btx.Bucket(name) }

// has reports whether the bucket holds key (index entries hold empty values).
func has(b *bolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return k != nil && bytes.Equal(k, key)
}

func (c *checker) run() error {
	if !c.layout() {
		return nil
	}
	for _, step := range []func() error{c.dossiers, c.index, c.tallyCounts, c.history, c.calls,
		c.assignments, c.reviews, c.conflicts, c.outbox, c.accounts, c.userIndex, c.sessions} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// layout checks the schema version and that every bucket is there; without
// a bucket nothing else is worth checking.
func (c *checker) layout() bool {
	meta := c.bucket(bucketMeta)
	if meta == nil {
		c.report("bucket meta", "missing: this is not a designate database, or it was never opened by the server")
		return false
	}
	if version := string(meta.Get(keySchema)); version != schemaVersion {
		c.report("meta schema", "version %q is not this program's (%s): the server migrates an older one at its next start", version, schemaVersion)
		return false
	}
	ok := true
	for _, name := range allBuckets {
		if c.bucket(name) == nil {
			c.report("bucket "+string(name), "missing")
			ok = false
		}
	}
	return ok
}

// dossiers walks the dossiers: each decodes, under its own id, and has every
// index entry its record gives; it recounts the tally on the way.
func (c *checker) dossiers() error {
	c.expected, c.missing, c.tally = map[byte]int{}, map[byte]int{}, map[string]int64{}
	idx := c.bucket(bucketIndex)
	n := 0
	cur := c.bucket(bucketApps).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if err := c.tick(); err != nil {
			return err
		}
		n++
		where := "dossier " + string(k)
		a, err := storedDossier(c.btx, k, v)
		if err != nil {
			c.report(where, "%v", err)
			continue
		}
		if a.ID != string(k) {
			c.report(where, "its record has the id %q", a.ID)
			continue
		}
		for _, ik := range indexKeys(a) {
			c.expected[ik[0]]++
			if !has(idx, ik) {
				c.missing[ik[0]]++
				c.report(where, "index entry %s is missing", indexEntry(ik, false))
			}
		}
		if tk := tallyKey(&a.Summary); tk != nil {
			c.tally[string(tk)]++
		}
	}
	c.count("dossier records", n)
	// A body or a list of files whose head is gone is a dossier half
	// deleted: nothing reads it, and nothing would ever remove it.
	apps := c.bucket(bucketApps)
	for _, part := range [][]byte{bucketBodies, bucketDossierFiles} {
		cur := c.bucket(part).Cursor()
		for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
			if err := c.tick(); err != nil {
				return err
			}
			if apps.Get(k) == nil {
				c.report(fmt.Sprintf("%s %s", part, k), "no dossier has this id")
			}
		}
	}
	return nil
}

// storedDossier decodes the dossier whose head is raw, with its body and
// files, saying which part is missing or does not decode.
func storedDossier(btx *bolt.Tx, id, raw []byte) (*engine.Application, error) {
	var a engine.Application
	if err := json.Unmarshal(raw, &a.Summary); err != nil {
		return nil, fmt.Errorf("its record does not decode: %v", err)
	}
	rawBody := btx.Bucket(bucketBodies).Get(id)
	if rawBody == nil {
		return nil, fmt.Errorf("its body is missing")
	}
	var b body
	if err := json.Unmarshal(rawBody, &b); err != nil {
		return nil, fmt.Errorf("its body does not decode: %v", err)
	}
	a.Contacts, a.Sections = b.Contacts, b.Sections
	rawFiles := btx.Bucket(bucketDossierFiles).Get(id)
	if rawFiles == nil {
		return nil, fmt.Errorf("its list of files is missing")
	}
	if err := json.Unmarshal(rawFiles, &a.Attachments); err != nil {
		return nil, fmt.Errorf("its list of files does not decode: %v", err)
	}
	return &a, nil
}

// indexKinds names the kinds of index entry.
var indexKinds = map[byte]string{idxCall: "call", idxState: "state", idxCountry: "country", idxField: "field",
	idxCity: "city", idxLeftDraft: "left_draft", idxLeftState: "left_draft_state", idxEvaluator: "evaluator", idxFile: "file"}

// splitIndexKey returns an index key's kind, value and id (a dossier's, or
// for the evaluator index the dossier's after the evaluator's).
func splitIndexKey(k []byte) (kind byte, value, id string, ok bool) {
	if len(k) < 2 {
		return 0, "", "", false
	}
	v, rest, found := bytes.Cut(k[1:], []byte{0})
	if !found || !engine.ValidID(string(rest)) {
		return k[0], "", "", false
	}
	return k[0], string(v), string(rest), true
}

// indexEntry names an index entry in the report: its kind and value, and
// with the id when withID.
func indexEntry(k []byte, withID bool) string {
	kind, value, id, ok := splitIndexKey(k)
	if !ok {
		return fmt.Sprintf("%q", k)
	}
	name, known := indexKinds[kind]
	if !known {
		name = fmt.Sprintf("kind %q", kind)
	}
	s := name
	if kind != idxLeftDraft || value != "" {
		s += fmt.Sprintf(" %q", value)
	}
	if withID {
		s += " " + id
	}
	return s
}

// index walks the index: it counts each kind's entries, checks each
// evaluator entry against its assignment, and walks again any kind that
// holds more entries than the dossiers give, to name the strays.
func (c *checker) index() error {
	idx := c.bucket(bucketIndex)
	asg := c.bucket(bucketAssignments)
	actual := map[byte]int{}
	total := 0
	cur := idx.Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		if err := c.tick(); err != nil {
			return err
		}
		total++
		actual[k[0]]++
		if k[0] != idxEvaluator {
			continue
		}
		_, evaluator, app, ok := splitIndexKey(k)
		if !ok {
			c.report("index "+indexEntry(k, true), "malformed: not evaluator NUL dossier id")
		} else if !has(asg, assignmentKey(app, evaluator)) {
			c.report("index "+indexEntry(k, true), "no such assignment")
		}
	}
	for kind, n := range actual {
		if kind == idxEvaluator {
			continue
		}
		if strays := n - (c.expected[kind] - c.missing[kind]); strays > 0 {
			if err := c.strays(kind, strays); err != nil {
				return err
			}
		}
	}
	c.count("index entries", total)
	c.count("index kinds", len(actual))
	return nil
}

// strays walks one kind of index entry and reports the entries no dossier
// gives, stopping once it has found as many as the counts say there are.
func (c *checker) strays(kind byte, want int) error {
	apps := c.bucket(bucketApps)
	cur := c.bucket(bucketIndex).Cursor()
	found := 0
	for k, _ := cur.Seek([]byte{kind}); k != nil && k[0] == kind && found < want; k, _ = cur.Next() {
		if err := c.tick(); err != nil {
			return err
		}
		where := "index " + indexEntry(k, true)
		_, _, id, ok := splitIndexKey(k)
		if !ok {
			c.report(where, "malformed: not value NUL dossier id")
			found++
			continue
		}
		raw := apps.Get([]byte(id))
		if raw == nil {
			c.report(where, "no such dossier")
			found++
			continue
		}
		a, err := storedDossier(c.btx, []byte(id), raw)
		if err != nil || a.ID != id {
			found++ // reported by the dossier pass
			continue
		}
		if !containsKey(indexKeys(a), k) {
			c.report(where, "the dossier's record gives no such entry (%s)", recordValue(a, kind))
			found++
		}
	}
	return nil
}

// recordValue says what the dossier's record holds for an index kind.
func recordValue(a *engine.Application, kind byte) string {
	switch kind {
	case idxCall:
		return fmt.Sprintf("its call is %q", a.Call)
	case idxState:
		return fmt.Sprintf("its state is %q", a.State)
	case idxCountry:
		return fmt.Sprintf("its country is %q", a.Country)
	case idxField:
		return fmt.Sprintf("its field is %q", a.Field)
	case idxCity:
		return fmt.Sprintf("its city is %q", a.City)
	case idxLeftDraft:
		return "it never left draft"
	case idxLeftState:
		if !a.LeftDraft() {
			return "it never left draft"
		}
		return fmt.Sprintf("its state is %q", a.State)
	case idxFile:
		return "it names no such file"
	}
	return "not a kind of entry a dossier has"
}

// tallyName names a tally key in the report: call/state/field.
func tallyName(k string) string { return "tally " + strings.ReplaceAll(k, "\x00", "/") }

// tallyCounts compares the tally with the recount of the dossier pass.
func (c *checker) tallyCounts() error {
	b := c.bucket(bucketTally)
	if b == nil {
		return nil // an older schema: the server builds it at its next start
	}
	n := 0
	cur := b.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		n++
		want := c.tally[string(k)]
		delete(c.tally, string(k))
		switch {
		case len(v) != 8:
			c.report(tallyName(string(k)), "holds %d bytes, not a count; the dossiers count %d", len(v), want)
		case want == 0:
			c.report(tallyName(string(k)), "holds %d, but no dossier that left draft is there", binary.BigEndian.Uint64(v))
		case int64(binary.BigEndian.Uint64(v)) != want:
			c.report(tallyName(string(k)), "holds %d; the dossiers count %d", binary.BigEndian.Uint64(v), want)
		}
	}
	for k, want := range c.tally {
		c.report(tallyName(k), "missing; the dossiers count %d", want)
	}
	c.count("tally counts", n)
	return nil
}

// history checks that every history event belongs to an existing dossier;
// the engine checks each dossier's history against the dossier.
func (c *checker) history() error {
	apps := c.bucket(bucketApps)
	cur := c.bucket(bucketHistory).Cursor()
	var app []byte
	exists := true
	events, orphans := 0, 0
	flush := func() {
		if orphans > 0 {
			c.report(fmt.Sprintf("history of %s", app), "%d event(s) of a dossier that does not exist", orphans)
		}
	}
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		if err := c.tick(); err != nil {
			return err
		}
		events++
		if len(k) != engine.IDLen+8 || !engine.ValidID(string(k[:engine.IDLen])) {
			c.report(fmt.Sprintf("history %q", k), "malformed key: not a dossier id and a sequence number")
			continue
		}
		if id := k[:engine.IDLen]; !bytes.Equal(id, app) {
			flush()
			app, orphans = append(app[:0], id...), 0
			exists = has(apps, app)
		}
		if !exists {
			orphans++
		}
	}
	flush()
	c.count("history keys", events)
	return nil
}

// calls checks that each call decodes, under its own id.
func (c *checker) calls() error {
	n := 0
	err := c.bucket(bucketCalls).ForEach(func(k, v []byte) error {
		n++
		var call engine.Call
		if err := json.Unmarshal(v, &call); err != nil {
			c.report("call "+string(k), "its record does not decode: %v", err)
		} else if call.ID != string(k) {
			c.report("call "+string(k), "its record has the id %q", call.ID)
		}
		return nil
	})
	c.count("call records", n)
	return err
}

// pairName names a record kept under dossier id NUL evaluator id.
func pairName(what string, k []byte) string {
	return what + " " + strings.ReplaceAll(string(k), "\x00", "/")
}

// pairOf decodes a record kept under dossier NUL evaluator and checks that
// it is stored under its own pair and that its dossier and account exist.
// It returns false when the record cannot be read.
func (c *checker) pairOf(what string, k, v []byte, rec any, app, evaluator func() string) bool {
	where := pairName(what, k)
	if err := json.Unmarshal(v, rec); err != nil {
		c.report(where, "its record does not decode: %v", err)
		return false
	}
	if !bytes.Equal(k, assignmentKey(app(), evaluator())) {
		c.report(where, "its record is of dossier %q and evaluator %q", app(), evaluator())
		return false
	}
	if !has(c.bucket(bucketApps), []byte(app())) {
		c.report(where, "its dossier does not exist")
	}
	if !has(c.bucket(bucketUsers), []byte(evaluator())) {
		c.report(where, "its evaluator's account does not exist")
	}
	return true
}

// assignments checks each assignment against its evaluator index entry and
// the conflicts of interest (declaring one ends the assignment for good).
func (c *checker) assignments() error {
	idx, conflicts := c.bucket(bucketIndex), c.bucket(bucketConflicts)
	n := 0
	err := c.bucket(bucketAssignments).ForEach(func(k, v []byte) error {
		n++
		var a engine.Assignment
		if !c.pairOf("assignment", k, v, &a, func() string { return a.Application }, func() string { return a.Evaluator }) {
			return nil
		}
		if ik := append(indexPrefix(idxEvaluator, a.Evaluator), a.Application...); !has(idx, ik) {
			c.report(pairName("assignment", k), "index entry %s is missing", indexEntry(ik, false))
		}
		if has(conflicts, k) {
			c.report(pairName("assignment", k), "the evaluator declared a conflict of interest on the dossier, which ends the assignment")
		}
		return nil
	})
	c.count("assignments", n)
	return err
}

// reviews checks that each review has its assignment: taking one back
// removes the review.
func (c *checker) reviews() error {
	asg := c.bucket(bucketAssignments)
	n := 0
	err := c.bucket(bucketReviews).ForEach(func(k, v []byte) error {
		n++
		var r engine.Review
		if c.pairOf("review", k, v, &r, func() string { return r.Application }, func() string { return r.Evaluator }) && !has(asg, k) {
			c.report(pairName("review", k), "no assignment: a review ends with its assignment")
		}
		return nil
	})
	c.count("reviews", n)
	return err
}

func (c *checker) conflicts() error {
	n := 0
	err := c.bucket(bucketConflicts).ForEach(func(k, v []byte) error {
		n++
		var cf engine.Conflict
		c.pairOf("conflict", k, v, &cf, func() string { return cf.Application }, func() string { return cf.Evaluator })
		return nil
	})
	c.count("conflicts of interest", n)
	return err
}

// outboxQueue is one of the outbox's queues: the key a message has in it
// (nil when its state keeps it out), and how to read the message id and
// name an entry.
type outboxQueue struct {
	name   []byte
	key    func(m *engine.Message) []byte
	id     func(k []byte) string
	entry  func(k []byte) string
	actual int
}

var outboxQueues = []*outboxQueue{
	{name: bucketOutboxPending,
		key: func(m *engine.Message) []byte {
			if m.State != engine.MessagePending {
				return nil
			}
			return pendingKey(m)
		},
		id: func(k []byte) string {
			if len(k) < 8 {
				return ""
			}
			return string(k[8:])
		},
		entry: func(k []byte) string {
			if len(k) < 8 {
				return fmt.Sprintf("%q", k)
			}
			due := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC().Format(time.RFC3339Nano)
			return fmt.Sprintf("due %s %s", due, k[8:])
		}},
	{name: bucketOutboxHeld,
		key: func(m *engine.Message) []byte {
			if m.State != engine.MessageHeld {
				return nil
			}
			return heldKey(m)
		},
		id: afterNUL, entry: nulAsSlash},
	{name: bucketOutboxState, key: stateKey, id: afterNUL, entry: nulAsSlash},
}

func afterNUL(k []byte) string {
	_, id, _ := bytes.Cut(k, []byte{0})
	return string(id)
}

func nulAsSlash(k []byte) string { return strings.ReplaceAll(string(k), "\x00", "/") }

var messageStates = []string{engine.MessagePending, engine.MessageHeld, engine.MessageSent, engine.MessageFailed}

// outbox checks each message against the queues its state puts it in, and
// each queue against the messages.
func (c *checker) outbox() error {
	apps, calls := c.bucket(bucketApps), c.bucket(bucketCalls)
	expected, missing := make([]int, len(outboxQueues)), make([]int, len(outboxQueues))
	n := 0
	cur := c.bucket(bucketOutbox).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if err := c.tick(); err != nil {
			return err
		}
		n++
		where := "message " + string(k)
		var m engine.Message
		if err := json.Unmarshal(v, &m); err != nil {
			c.report(where, "its record does not decode: %v", err)
			continue
		}
		if m.ID != string(k) {
			c.report(where, "its record has the id %q", m.ID)
			continue
		}
		known := false
		for _, s := range messageStates {
			known = known || m.State == s
		}
		if !known {
			c.report(where, "its state %q is not a message state", m.State)
		}
		for i, q := range outboxQueues {
			qk := q.key(&m)
			if qk == nil {
				continue
			}
			expected[i]++
			if !has(c.bucket(q.name), qk) {
				missing[i]++
				c.report(where, "it is %s but not in %s (%s)", m.State, q.name, q.entry(qk))
			}
		}
		if !has(apps, []byte(m.Application)) {
			c.report(where, "its dossier %q does not exist", m.Application)
		}
		if !has(calls, []byte(m.Call)) {
			c.report(where, "its call %q does not exist", m.Call)
		}
	}
	c.count("outbox messages", n)
	for i, q := range outboxQueues {
		b := c.bucket(q.name)
		actual := b.Stats().KeyN
		if strays := actual - (expected[i] - missing[i]); strays > 0 {
			if err := c.queueStrays(q, strays); err != nil {
				return err
			}
		}
	}
	return nil
}

// queueStrays walks a queue and reports the entries no message gives,
// stopping once it has found as many as the counts say there are.
func (c *checker) queueStrays(q *outboxQueue, want int) error {
	messages := c.bucket(bucketOutbox)
	cur := c.bucket(q.name).Cursor()
	found := 0
	for k, _ := cur.First(); k != nil && found < want; k, _ = cur.Next() {
		if err := c.tick(); err != nil {
			return err
		}
		where := string(q.name) + " " + q.entry(k)
		raw := messages.Get([]byte(q.id(k)))
		if raw == nil {
			c.report(where, "no such message")
			found++
			continue
		}
		var m engine.Message
		if err := json.Unmarshal(raw, &m); err != nil || m.ID != q.id(k) {
			found++ // reported by the message pass
			continue
		}
		if !bytes.Equal(q.key(&m), k) {
			c.report(where, "the message is %s (due %s, call %q)", m.State, m.NextAttempt.UTC().Format(time.RFC3339Nano), m.Call)
			found++
		}
	}
	return nil
}

// accounts checks the accounts and the e-mail index both ways.
func (c *checker) accounts() error {
	users, emails := c.bucket(bucketUsers), c.bucket(bucketEmails)
	n := 0
	err := users.ForEach(func(k, v []byte) error {
		n++
		where := "account " + string(k)
		rec := userRecord{User: &engine.User{}}
		if err := json.Unmarshal(v, &rec); err != nil {
			c.report(where, "its record does not decode: %v", err)
			return nil
		}
		if rec.ID != string(k) {
			c.report(where, "its record has the id %q", rec.ID)
			return nil
		}
		switch owner := emails.Get([]byte(rec.Email)); {
		case owner == nil:
			c.report(where, "its e-mail %q is not in emails", rec.Email)
		case string(owner) != rec.ID:
			c.report(where, "its e-mail %q names account %s in emails", rec.Email, owner)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.count("accounts", n)
	return emails.ForEach(func(k, v []byte) error {
		where := fmt.Sprintf("emails %q", k)
		raw := users.Get(v)
		if raw == nil {
			c.report(where, "names account %s, which does not exist", v)
			return nil
		}
		rec := userRecord{User: &engine.User{}}
		if err := json.Unmarshal(raw, &rec); err == nil && rec.Email != string(k) {
			c.report(where, "names account %s, whose e-mail is %q", v, rec.Email)
		}
		return nil
	})
}

// sessionName names a session by the start of its token's hash (enough to
// find it, and still nothing anyone can sign in with).
func sessionName(hash []byte) string {
	if len(hash) > 12 {
		hash = hash[:12]
	}
	return fmt.Sprintf("session %s…", hash)
}

// sessions checks that each session belongs to an existing account and is
// listed under it, and that each entry of that list is a session of the
// account. An expired session is no problem: it signs nobody in.
func (c *checker) sessions() error {
	users, byUser, sessions := c.bucket(bucketUsers), c.bucket(bucketUserSessions), c.bucket(bucketSessions)
	n := 0
	err := sessions.ForEach(func(k, v []byte) error {
		if err := c.tick(); err != nil {
			return err
		}
		n++
		where := sessionName(k)
		var s engine.Session
		if err := json.Unmarshal(v, &s); err != nil {
			c.report(where, "its record does not decode: %v", err)
			return nil
		}
		if s.TokenHash != string(k) {
			c.report(where, "its record has the token hash %q", s.TokenHash)
			return nil
		}
		if !has(users, []byte(s.UserID)) {
			c.report(where, "its account %s does not exist", s.UserID)
		}
		if !has(byUser, []byte(s.UserID+s.TokenHash)) {
			c.report(where, "it is not listed in user_sessions under its account %s", s.UserID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.count("sessions", n)
	return byUser.ForEach(func(k, _ []byte) error {
		if err := c.tick(); err != nil {
			return err
		}
		if len(k) <= engine.IDLen {
			c.report(fmt.Sprintf("user_sessions %q", k), "malformed: not an account id and a token hash")
			return nil
		}
		user, hash := k[:engine.IDLen], k[engine.IDLen:]
		where := fmt.Sprintf("user_sessions %s %s", user, sessionName(hash))
		raw := sessions.Get(hash)
		if raw == nil {
			c.report(where, "no such session")
			return nil
		}
		var s engine.Session
		if err := json.Unmarshal(raw, &s); err == nil && s.UserID != string(user) {
			c.report(where, "the session is account %s's", s.UserID)
		}
		return nil
	})
}
