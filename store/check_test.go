package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"

	"designate/engine"
)

// ckWorld is a sound database made by the real engine over the real store,
// and the ids a corruption of it names.
type ckWorld struct {
	Path string
	Call string
	// Lyon is under evaluation (E1 assigned with a review, E2 withdrawn by
	// a conflict of interest); Rouen lapsed as a draft; Porto is submitted.
	Lyon, Rouen, Porto string
	LyonAccount        *engine.User
	E1, E2             string
}

var ckStart = time.Date(2027, time.March, 16, 8, 0, 0, 0, time.UTC)

// ckCall is a valid call open since an hour, with a review form.
func ckCall(now time.Time) engine.Call {
	day := 24 * time.Hour
	return engine.Call{
		ID: "uccn-2027", Title: "Creative Cities 2027", TimeZone: "Europe/Paris",
		Fields: []string{"Film", "Music"}, Languages: []string{"en", "fr"},
		OpensAt: now.Add(-time.Hour), SubmissionDeadline: now.Add(10 * day), Grace: engine.Duration(30 * time.Minute),
		EndorsementDeadline: now.Add(20 * day), EvaluationDeadline: now.Add(40 * day), AnnouncementAt: now.Add(60 * day),
		MaxPerCountry: 2, DistinctFields: true,
		Sections: []engine.Section{{ID: "vision", Title: engine.Localized{EN: "Vision", FR: "Vision"}, WordLimit: 50, Required: true}},
		Review: engine.ReviewForm{ScaleMin: 1, ScaleMax: 5,
			Criteria: []engine.Criterion{{ID: "impact", Title: engine.Localized{EN: "Impact", FR: "Impact"}, Weight: 1}}},
	}
}

// ckBuild makes the sound database through the engine, and closes it.
func ckBuild(tb testing.TB) *ckWorld {
	tb.Helper()
	ctx := context.Background()
	w := &ckWorld{Path: filepath.Join(tb.TempDir(), "designate.db")}
	db := mustOpen(tb, w.Path, Options{})
	defer mustClose(tb, db)
	clock := engine.NewManualClock(ckStart)
	svc := engine.NewService(db, clock)
	svc.PasswordCost = bcrypt.MinCost
	must := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("%s: %v (%v)", what, err, engine.ErrorFields(err))
		}
	}
	account := func(email string, role engine.Role, country, city string) *engine.User {
		tb.Helper()
		u, err := svc.CreateUser(ctx, engine.System, engine.NewUser{Email: email, Password: "correct horse battery staple", Role: role, Country: country, City: city})
		must("create "+email, err)
		return u
	}
	sec := engine.ActorOf(account("secretariat@example.org", engine.RoleSecretariat, "", ""))
	commission := engine.ActorOf(account("commission-fr@example.org", engine.RoleCommission, "FR", ""))
	w.LyonAccount = account("lyon@example.org", engine.RoleApplicant, "FR", "Lyon")
	lyon := engine.ActorOf(w.LyonAccount)
	rouen := engine.ActorOf(account("rouen@example.org", engine.RoleApplicant, "FR", "Rouen"))
	porto := engine.ActorOf(account("porto@example.org", engine.RoleApplicant, "PT", "Porto"))
	e1 := engine.ActorOf(account("e1@example.org", engine.RoleEvaluator, "DE", ""))
	e2 := engine.ActorOf(account("e2@example.org", engine.RoleEvaluator, "DE", ""))
	w.E1, w.E2 = e1.UserID, e2.UserID

	call, err := svc.CreateCall(ctx, sec, ckCall(clock.Now()))
	must("create call", err)
	w.Call = call.ID
	draft := func(city engine.Actor, field string) string {
		tb.Helper()
		app, err := svc.CreateApplication(ctx, city, engine.NewApplication{Call: call.ID, City: city.City, Country: city.Country, Field: field, Language: "en"})
		must("start "+city.City, err)
		contact := engine.Contact{Name: "Marie Laurent", Email: "mayor@city.example", Phone: "+33 4 97 06 40 00"}
		_, err = svc.SaveApplication(ctx, city, app.ID, engine.DraftEdit{Version: app.Version,
			Contacts: engine.Contacts{Mayor: contact, Representative: contact, Main: contact},
			Sections: map[string]string{"vision": "Cinema for every citizen"}})
		must("save "+city.City, err)
		return app.ID
	}
	move := func(actor engine.Actor, id, event, note string) {
		tb.Helper()
		_, err := svc.Transition(ctx, actor, id, engine.Move{Event: event, Note: note})
		must(actor.Email+" "+event, err)
	}
	w.Lyon, w.Rouen, w.Porto = draft(lyon, "Film"), draft(rouen, "Music"), draft(porto, "Music")
	move(lyon, w.Lyon, engine.EventSubmit, "")
	move(commission, w.Lyon, engine.EventEndorse, "")
	move(porto, w.Porto, engine.EventSubmit, "")
	_, _, err = svc.Login(ctx, "lyon@example.org", "correct horse battery staple", "192.0.2.1")
	must("sign in", err)

	clock.Set(call.Close().Add(time.Minute))
	must("advance past the close", svc.Advance(ctx))
	move(sec, w.Lyon, engine.EventAccept, "")
	move(sec, w.Lyon, engine.EventStartEval, "")
	_, err = svc.Assign(ctx, sec, w.Lyon, w.E1, engine.KindExpert)
	must("assign e1", err)
	_, err = svc.Assign(ctx, sec, w.Lyon, w.E2, engine.KindExpert)
	must("assign e2", err)
	_, err = svc.SaveReview(ctx, e1, w.Lyon, engine.ReviewEdit{Scores: map[string]int{"impact": 4}, Recommendation: engine.Recommend})
	must("review", err)
	_, err = svc.DeclareConflict(ctx, e2, w.Lyon, "I worked for the city's festival.")
	must("declare a conflict", err)
	return w
}

// copyTo copies the sound database to a new file for one corruption.
func (w *ckWorld) copyTo(tb testing.TB) string {
	tb.Helper()
	raw, err := os.ReadFile(w.Path)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "designate.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// ckProblems runs the store's check on the file, opened read-only as
// `designate check` opens it, and returns its lines, sorted.
func ckProblems(tb testing.TB, path string) []string {
	tb.Helper()
	db := mustOpen(tb, path, Options{ReadOnly: true})
	defer mustClose(tb, db)
	lines := []string{}
	checked, err := db.CheckIntegrity(context.Background(), func(p engine.Problem) { lines = append(lines, p.String()) })
	if err != nil {
		tb.Fatalf("check %s: %v", path, err)
	}
	if len(checked) == 0 && len(lines) == 0 {
		tb.Errorf("the check says it looked at nothing, and found nothing wrong")
	}
	slices.Sort(lines)
	return lines
}

// ckMessages reads the outbox's messages of the dossier.
func ckMessages(tb testing.TB, path, app string) []*engine.Message {
	tb.Helper()
	db := mustOpen(tb, path, Options{ReadOnly: true})
	defer mustClose(tb, db)
	var out []*engine.Message
	err := db.View(context.Background(), func(tx engine.ReadTx) error {
		all, err := tx.Messages("", 1000)
		for _, m := range all {
			if m.Application == app {
				out = append(out, m)
			}
		}
		return err
	})
	if err != nil || len(out) == 0 {
		tb.Fatalf("messages of %s: %v (%d)", app, err, len(out))
	}
	return out
}

func ckDue(m *engine.Message) string {
	return m.NextAttempt.UTC().Format(time.RFC3339Nano)
}

// A database the engine wrote passes the store's check and the domain's;
// each corruption, made with bbolt on the closed file, is reported as
// exactly the problem it is, where it is, and nothing else.
func TestCheckIntegrity_SoundDatabase_ThenEachCorruptionExactly(t *testing.T) {
	w := ckBuild(t)
	if got := ckProblems(t, w.Path); len(got) != 0 {
		t.Fatalf("the sound database has problems:\n%s", strings.Join(got, "\n"))
	}
	db := mustOpen(t, w.Path, Options{ReadOnly: true})
	report, err := engine.NewService(db, engine.NewManualClock(ckStart)).CheckData(context.Background())
	mustClose(t, db)
	if err != nil || report.Total != 0 {
		t.Fatalf("the whole check of the sound database: %v %v", err, report.Problems)
	}

	porto := ckMessages(t, w.Path, w.Porto)[0]
	hash := func(path string) string {
		var h string
		rawUpdate(t, path, func(tx *bolt.Tx) error {
			k, _ := tx.Bucket(bucketSessions).Cursor().First()
			h = string(k)
			return nil
		})
		return h
	}
	ghost := "0000000000000000" // an id nothing has
	cases := []struct {
		name    string
		corrupt func(tx *bolt.Tx) error
		want    []string
	}{
		{"IndexEntryDeleted",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketIndex).Delete(append(indexPrefix(idxState, "under_evaluation"), w.Lyon...))
			},
			[]string{"dossier " + w.Lyon + `: index entry state "under_evaluation" is missing`}},
		{"StrayIndexEntryOfAnotherValue",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketIndex).Put(append(indexPrefix(idxCountry, "PT"), w.Lyon...), nil)
			},
			[]string{`index country "PT" ` + w.Lyon + `: the dossier's record gives no such entry (its country is "FR")`}},
		{"StrayIndexEntryOfNoDossier",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketIndex).Put(append(indexPrefix(idxCity, "Nowhere"), ghost...), nil)
			},
			[]string{`index city "Nowhere" ` + ghost + `: no such dossier`}},
		{"StrayLeftDraftEntry",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketIndex).Put(append(indexPrefix(idxLeftDraft, ""), w.Rouen...), nil)
			},
			[]string{`index left_draft ` + w.Rouen + `: the dossier's record gives no such entry (it never left draft)`}},
		{"StateChangedWithoutItsIndex",
			func(tx *bolt.Tx) error {
				return ckRewrite(tx, w.Rouen, func(a *engine.Application) { a.State = engine.Withdrawn })
			},
			[]string{
				"dossier " + w.Rouen + `: index entry state "withdrawn" is missing`,
				`index state "lapsed" ` + w.Rouen + `: the dossier's record gives no such entry (its state is "withdrawn")`,
			}},
		{"TallyCountWrong",
			func(tx *bolt.Tx) error {
				v := make([]byte, 8)
				binary.BigEndian.PutUint64(v, 5)
				return tx.Bucket(bucketTally).Put([]byte(w.Call+"\x00submitted\x00Music"), v)
			},
			[]string{"tally " + w.Call + "/submitted/Music: holds 5; the dossiers count 1"}},
		{"TallyCountMissing",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketTally).Delete([]byte(w.Call + "\x00under_evaluation\x00Film"))
			},
			[]string{"tally " + w.Call + "/under_evaluation/Film: missing; the dossiers count 1"}},
		{"TallyCountOfNothing",
			func(tx *bolt.Tx) error {
				v := make([]byte, 8)
				binary.BigEndian.PutUint64(v, 1)
				return tx.Bucket(bucketTally).Put([]byte(w.Call+"\x00designated\x00Film"), v)
			},
			[]string{"tally " + w.Call + "/designated/Film: holds 1, but no dossier that left draft is there"}},
		{"OrphanPendingQueueEntry",
			func(tx *bolt.Tx) error {
				m := *porto
				m.ID = ghost
				return tx.Bucket(bucketOutboxPending).Put(pendingKey(&m), nil)
			},
			[]string{"outbox_pending due " + ckDue(porto) + " " + ghost + ": no such message"}},
		{"OrphanHeldQueueEntry",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketOutboxHeld).Put([]byte(w.Call+"\x00"+ghost), nil)
			},
			[]string{"outbox_held " + w.Call + "/" + ghost + ": no such message"}},
		{"PendingMessageOutOfItsQueue",
			func(tx *bolt.Tx) error { return tx.Bucket(bucketOutboxPending).Delete(pendingKey(porto)) },
			[]string{"message " + porto.ID + ": it is pending but not in outbox_pending (due " + ckDue(porto) + " " + porto.ID + ")"}},
		{"MessageStateChangedWithoutItsQueues",
			func(tx *bolt.Tx) error {
				m := *porto
				m.State = engine.MessageSent
				return ckPut(tx, bucketOutbox, m.ID, &m)
			},
			[]string{
				"message " + porto.ID + ": it is sent but not in outbox_state (sent/" + porto.ID + ")",
				"outbox_pending due " + ckDue(porto) + " " + porto.ID + `: the message is sent (due ` + ckDue(porto) + `, call "` + w.Call + `")`,
				"outbox_state pending/" + porto.ID + `: the message is sent (due ` + ckDue(porto) + `, call "` + w.Call + `")`,
			}},
		{"EmailIndexDropped",
			func(tx *bolt.Tx) error { return tx.Bucket(bucketEmails).Delete([]byte("lyon@example.org")) },
			[]string{"account " + w.LyonAccount.ID + `: its e-mail "lyon@example.org" is not in emails`}},
		{"EmailIndexOfNoAccount",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketEmails).Put([]byte("ghost@example.org"), []byte(ghost))
			},
			[]string{`emails "ghost@example.org": names account ` + ghost + `, which does not exist`}},
		{"SessionOfNoAccount",
			func(tx *bolt.Tx) error {
				s := &engine.Session{TokenHash: strings.Repeat("ab", 32), UserID: ghost, CreatedAt: ckStart, ExpiresAt: ckStart.Add(time.Hour), LastSeen: ckStart}
				if err := tx.Bucket(bucketUserSessions).Put([]byte(s.UserID+s.TokenHash), nil); err != nil {
					return err
				}
				return ckPut(tx, bucketSessions, s.TokenHash, s)
			},
			[]string{"session abababababab…: its account " + ghost + " does not exist"}},
		{"SessionNotListedUnderItsAccount",
			nil, // below: it needs the session's hash
			nil},
		{"AssignmentIndexEntryDeleted",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketIndex).Delete(append(indexPrefix(idxEvaluator, w.E1), w.Lyon...))
			},
			[]string{"assignment " + w.Lyon + "/" + w.E1 + `: index entry evaluator "` + w.E1 + `" is missing`}},
		{"StrayAssignmentIndexEntry",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketIndex).Put(append(indexPrefix(idxEvaluator, w.E2), w.Lyon...), nil)
			},
			[]string{`index evaluator "` + w.E2 + `" ` + w.Lyon + ": no such assignment"}},
		{"ReviewWithoutItsAssignment",
			func(tx *bolt.Tx) error {
				if err := tx.Bucket(bucketIndex).Delete(append(indexPrefix(idxEvaluator, w.E1), w.Lyon...)); err != nil {
					return err
				}
				return tx.Bucket(bucketAssignments).Delete(assignmentKey(w.Lyon, w.E1))
			},
			[]string{"review " + w.Lyon + "/" + w.E1 + ": no assignment: a review ends with its assignment"}},
		{"AssignmentBesideItsConflict",
			func(tx *bolt.Tx) error {
				raw := tx.Bucket(bucketAssignments).Get(assignmentKey(w.Lyon, w.E1))
				a := append([]byte(nil), raw...)
				a = []byte(strings.Replace(string(a), w.E1, w.E2, 1))
				if err := tx.Bucket(bucketIndex).Put(append(indexPrefix(idxEvaluator, w.E2), w.Lyon...), nil); err != nil {
					return err
				}
				return tx.Bucket(bucketAssignments).Put(assignmentKey(w.Lyon, w.E2), a)
			},
			[]string{"assignment " + w.Lyon + "/" + w.E2 + ": the evaluator declared a conflict of interest on the dossier, which ends the assignment"}},
		{"HistoryOfNoDossier",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketHistory).Put(historyKey(ghost, 1), []byte(`{"seq":1,"event":"create","to":"draft"}`))
			},
			[]string{"history of " + ghost + ": 1 event(s) of a dossier that does not exist"}},
		{"RecordUnderAnotherID",
			func(tx *bolt.Tx) error {
				return ckPut(tx, bucketCalls, "uccn-2028", ckCall(ckStart))
			},
			[]string{`call uccn-2028: its record has the id "uccn-2027"`}},
		{"BucketDeleted",
			func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketOutboxHeld) },
			[]string{"bucket outbox_held: missing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := w.copyTo(t)
			if c.corrupt == nil {
				h := hash(path)
				c.corrupt = func(tx *bolt.Tx) error {
					return tx.Bucket(bucketUserSessions).Delete([]byte(w.LyonAccount.ID + h))
				}
				c.want = []string{"session " + h[:12] + "…: it is not listed in user_sessions under its account " + w.LyonAccount.ID}
			}
			rawUpdate(t, path, c.corrupt)
			got := ckProblems(t, path)
			slices.Sort(c.want)
			if !slices.Equal(got, c.want) {
				t.Fatalf("the check reported\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

// An unknown schema version is refused before any check: the program
// cannot read the layout.
func TestCheckIntegrity_UnknownSchema_IsRefusedAtOpen(t *testing.T) {
	w := ckBuild(t)
	rawUpdate(t, w.Path, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("schema"), []byte("99")) })
	if _, err := Open(w.Path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), `schema version "99"`) {
		t.Fatalf("open of schema 99: %v, want a refusal naming the version", err)
	}
}

// A database of schema version 1 (no tally yet) is checked without its
// tally, which the server builds at its next start.
func TestCheckIntegrity_OlderSchema_IsSoundOnceMigrated(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		t.Run("Schema"+version, func(t *testing.T) {
			w := ckBuild(t)
			downgrade(t, w.Path, version)
			// Read only, nothing migrates it: the check says what to do
			// rather than misread an older layout.
			db, err := Open(w.Path, Options{ReadOnly: true})
			if err == nil {
				db.Close()
				t.Fatalf("a read-only open of schema %s succeeded, want a refusal", version)
			}
			if !strings.Contains(err.Error(), "migrates") || !strings.Contains(err.Error(), "older") {
				t.Errorf("read-only open error = %q, want it to say the server migrates the file", err)
			}
			mustClose(t, mustOpen(t, w.Path, Options{}))
			if got := ckProblems(t, w.Path); len(got) != 0 {
				t.Fatalf("schema %s once migrated has problems:\n%s", version, strings.Join(got, "\n"))
			}
		})
	}
}

// ckRewrite changes a dossier's record alone, as a bug that bypassed
// PutApplication would.
func ckRewrite(tx *bolt.Tx, id string, change func(*engine.Application)) error {
	a, err := storedDossier(tx, []byte(id), tx.Bucket(bucketApps).Get([]byte(id)))
	if err != nil {
		return err
	}
	change(a)
	if err := ckPut(tx, bucketBodies, id, &body{Contacts: a.Contacts, Sections: a.Sections}); err != nil {
		return err
	}
	if err := ckPut(tx, bucketDossierFiles, id, a.Attachments); err != nil {
		return err
	}
	return ckPut(tx, bucketApps, id, &a.Summary)
}

// ckPut stores v as JSON under key, with nothing kept in step.
func ckPut(tx *bolt.Tx, bucket []byte, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), raw)
}
