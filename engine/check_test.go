package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// ckCheck runs the whole check (store and domain) over the service's store
// and returns its lines.
func ckCheck(tb testing.TB, svc *engine.Service) []string {
	tb.Helper()
	report, err := svc.CheckData(context.Background())
	if err != nil {
		tb.Fatalf("check: %v", err)
	}
	lines := []string{}
	for _, p := range report.Problems {
		lines = append(lines, p.String())
	}
	if report.Total != len(lines) {
		tb.Fatalf("the report counts %d problems and lists %d", report.Total, len(lines))
	}
	return lines
}

func ckAssert(tb testing.TB, got []string, want ...string) {
	tb.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("the check reported\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// ckRewrite changes a stored dossier through the store, which keeps its
// indexes and tally in step: only the domain's rules can tell.
func ckRewrite(tb testing.TB, e *Env, id string, change func(tx engine.Tx, app *engine.Application) error) {
	tb.Helper()
	err := e.DB.Update(context.Background(), func(tx engine.Tx) error {
		app, err := tx.Application(id)
		if err != nil {
			return err
		}
		if err := change(tx, app); err != nil {
			return err
		}
		return tx.PutApplication(app)
	})
	if err != nil {
		tb.Fatalf("rewrite %s: %v", id, err)
	}
}

// ckEndorseAround endorses the dossier as a bug would: its state, version
// and history written in step, but no quota asked.
func ckEndorseAround(tb testing.TB, e *Env, id string) {
	tb.Helper()
	ckRewrite(tb, e, id, func(tx engine.Tx, app *engine.Application) error {
		app.State, app.Version = engine.Endorsed, app.Version+1
		return tx.AppendHistory(id, &engine.HistoryEvent{At: e.Clock.Now(), Actor: "bug", Role: engine.RoleCommission,
			Event: engine.EventEndorse, From: engine.Submitted, To: engine.Endorsed})
	})
}

// ckTampered is the store with each dossier's history as read passed
// through a change: a history the store could not be made to write.
type ckTampered struct {
	engine.Store
	history func(id string, events []engine.HistoryEvent) []engine.HistoryEvent
}

func (s ckTampered) View(ctx context.Context, fn func(engine.ReadTx) error) error {
	return s.Store.View(ctx, func(tx engine.ReadTx) error { return fn(ckTamperedTx{tx, s.history}) })
}

type ckTamperedTx struct {
	engine.ReadTx
	history func(id string, events []engine.HistoryEvent) []engine.HistoryEvent
}

func (t ckTamperedTx) History(id string) ([]engine.HistoryEvent, error) {
	events, err := t.ReadTx.History(id)
	if err != nil {
		return nil, err
	}
	return t.history(id, events), nil
}

// Dossiers moved the whole way by the engine (retracted and submitted
// again, endorsed, declined, withdrawn, recommended under the embargo,
// designated and not at the announcement) make sound data.
func TestCheckData_WhatTheEngineWrites_IsSound(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	lyon := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Music, engine.Endorsed)
	rouen := e.MustReach(t, call, e.City(t, "Rouen", "FR"), Film, engine.Submitted)
	rouen = e.MustMove(t, AsCity(t, e, rouen), rouen.ID, engine.EventRetract, "")
	rouen = e.MustMove(t, AsCity(t, e, rouen), rouen.ID, engine.EventSubmit, "")
	e.MustReach(t, call, e.City(t, "Lille", "FR"), Gastronomy, engine.NotEndorsed)
	e.MustReach(t, call, e.City(t, "Porto", "PT"), Music, engine.Withdrawn)
	e.MustReach(t, call, e.City(t, "Braga", "PT"), Film, engine.Draft)
	berlin := e.MustReach(t, call, e.City(t, "Berlin", "DE"), Film, engine.Endorsed)
	e.MustMoveOn(t, call, lyon, engine.Recommended)
	e.MustMoveOn(t, call, berlin, engine.NotRecommended)
	if got := ckCheck(t, e.Service); len(got) != 0 {
		t.Fatalf("under the embargo the check reports:\n%s", strings.Join(got, "\n"))
	}
	AfterAnnouncement(t, e, call)
	report, err := e.Service.CheckData(context.Background())
	if err != nil || report.Total != 0 {
		t.Fatalf("after the announcement: %v %v", err, report.Problems)
	}
	counts := map[string]int{}
	for _, c := range report.Checked {
		counts[c.What] = c.N
	}
	if counts["dossiers"] != 6 || counts["calls"] != 1 || counts["history events"] < 20 || counts["index entries"] == 0 {
		t.Fatalf("the check says it looked at %v", report.Checked)
	}
}

// A state the history does not lead to is reported against the dossier.
func TestCheckData_StateIsNotTheLastHistoryTarget(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Music, engine.Submitted)
	ckRewrite(t, e, app.ID, func(_ engine.Tx, a *engine.Application) error { a.State = engine.Endorsed; return nil })
	ckAssert(t, ckCheck(t, e.Service),
		"dossier "+app.ID+": its state is endorsed, but its last history event (2, submit) left it submitted")
}

// Events missing from the middle of a history are named.
func TestCheckData_GapInHistory(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Music, engine.Submitted)
	app = e.MustMove(t, AsCity(t, e, app), app.ID, engine.EventRetract, "")
	app = e.MustMove(t, AsCity(t, e, app), app.ID, engine.EventSubmit, "")
	// Without its submission and retraction (events 2 and 3) the history
	// still leads from draft to submitted: only the numbers tell.
	svc := engine.NewService(ckTampered{e.DB, func(_ string, evs []engine.HistoryEvent) []engine.HistoryEvent {
		return append(evs[:1:1], evs[3:]...)
	}}, e.Clock)
	ckAssert(t, ckCheck(t, svc), "dossier "+app.ID+": its history jumps from event 1 to event 4: events 2 to 3 are missing")
}

// A history that goes back in time, or makes a move the lifecycle has not,
// is reported.
func TestCheckData_HistoryBackInTimeOrOffTheLifecycle(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Music, engine.Endorsed)
	back := engine.NewService(ckTampered{e.DB, func(_ string, evs []engine.HistoryEvent) []engine.HistoryEvent {
		evs[2].At = evs[1].At.Add(-time.Second)
		return evs
	}}, e.Clock)
	at := app.UpdatedAt.UTC()
	ckAssert(t, ckCheck(t, back), "dossier "+app.ID+": history event 3 ("+at.Add(-time.Second).Format("2006-01-02T15:04:05.000Z")+
		") is dated before event 2 ("+at.Format("2006-01-02T15:04:05.000Z")+")")
	off := engine.NewService(ckTampered{e.DB, func(_ string, evs []engine.HistoryEvent) []engine.HistoryEvent {
		evs[2].Event = engine.EventAccept
		return evs
	}}, e.Clock)
	ckAssert(t, ckCheck(t, off), "dossier "+app.ID+": history event 3 (accept from submitted to endorsed) is not a move of the lifecycle")
}

// A third endorsement in a country that may have two is reported against
// the call and country, naming the dossiers.
func TestCheckData_QuotaExceeded(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	a := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Music, engine.Endorsed)
	b := e.MustReach(t, call, e.City(t, "Rouen", "FR"), Film, engine.Endorsed)
	c := e.MustReach(t, call, e.City(t, "Lille", "FR"), Gastronomy, engine.Submitted)
	e.MustReach(t, call, e.City(t, "Porto", "PT"), Gastronomy, engine.Endorsed) // another country
	ckEndorseAround(t, e, c.ID)
	ckAssert(t, ckCheck(t, e.Service),
		"call "+call.ID+" country FR: 3 dossiers hold an endorsement ("+a.ID+", "+b.ID+", "+c.ID+"); the call allows 2")
}

// Two endorsements in one field, when the call wants different fields, are
// reported; a withdrawn one no longer holds its place.
func TestCheckData_TwoEndorsedInOneField(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	a := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Music, engine.Endorsed)
	b := e.MustReach(t, call, e.City(t, "Rouen", "FR"), Music, engine.Submitted)
	ckEndorseAround(t, e, b.ID)
	ckAssert(t, ckCheck(t, e.Service),
		"call "+call.ID+" country FR: 2 endorsed dossiers in Music ("+a.ID+", "+b.ID+"); the call requires different fields")
	e.MustMove(t, AsCity(t, e, a), a.ID, engine.EventWithdraw, "")
	ckAssert(t, ckCheck(t, e.Service))
}

// A dossier of a field its call does not have, or of a call that does not
// exist, is reported.
func TestCheckData_UnknownFieldOrCall(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustDraft(t, call.ID, e.City(t, "Lyon", "FR"), Music)
	ckRewrite(t, e, app.ID, func(_ engine.Tx, a *engine.Application) error { a.Field = "Dance"; return nil })
	ckAssert(t, ckCheck(t, e.Service), "dossier "+app.ID+`: its field "Dance" is not one of the call's fields (Music, Film, Gastronomy)`)
	ckRewrite(t, e, app.ID, func(_ engine.Tx, a *engine.Application) error { a.Field, a.Call = Music, "no-such-call"; return nil })
	ckAssert(t, ckCheck(t, e.Service), "dossier "+app.ID+`: its call "no-such-call" does not exist`)
}

// The version counts every write; it cannot be below the history, and the
// moves hidden by the embargo are its recommend and not_recommend events.
func TestCheckData_VersionBelowHistoryOrHiddenMovesMiscounted(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Music, engine.Endorsed)
	if app.Version != 4 {
		t.Fatalf("created, saved, submitted and endorsed: version %d, want 4", app.Version)
	}
	ckRewrite(t, e, app.ID, func(_ engine.Tx, a *engine.Application) error { a.Version = 2; return nil })
	ckAssert(t, ckCheck(t, e.Service),
		"dossier "+app.ID+": its version 2 is below its 3 history events (its creation and each move raised it by one)")
	ckRewrite(t, e, app.ID, func(_ engine.Tx, a *engine.Application) error { a.Version, a.HiddenMoves = 4, 1; return nil })
	ckAssert(t, ckCheck(t, e.Service), "dossier "+app.ID+": it counts 1 moves hidden by the results embargo; its history has 0")
}

// A submitted dossier whose content changed after its receipt no longer
// matches the receipt's digest.
func TestCheckData_ContentChangedAfterSubmission(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Music, engine.Submitted)
	ckRewrite(t, e, app.ID, func(_ engine.Tx, a *engine.Application) error { a.Sections["vision"] = "Changed"; return nil })
	got := ckCheck(t, e.Service)
	if len(got) != 1 || !strings.HasPrefix(got[0], "dossier "+app.ID+`: its submission digest "`+app.SubmissionDigest+`" does not match its content`) {
		t.Fatalf("the check reported %q, want the digest of %s", got, app.ID)
	}
}
