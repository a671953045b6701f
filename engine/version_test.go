package engine_test

import (
	"context"
	"testing"
	"time"

	"designate/engine"
)

func TestSaveApplication_StaleVersion_IsRefusedAndChangesNothing(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.City(t, "Cannes", "FR")
	app := e.MustDraft(t, call.ID, cannes, Film)
	ctx := context.Background()

	// Two tabs open the dossier at the same version; the first saves.
	first := CompleteDraft(app.Version)
	first.Sections["vision"] = "Films made by the city"
	saved, err := e.Service.SaveApplication(ctx, cannes, app.ID, first)
	if err != nil {
		t.Fatal(err)
	}
	second := CompleteDraft(app.Version)
	second.Sections["vision"] = "Overwrites the first tab"

	_, err = e.Service.SaveApplication(ctx, cannes, app.ID, second)

	AssertCode(t, err, engine.ESTALEVERSION)
	got := e.MustGet(t, app.ID)
	if got.Version != saved.Version || got.Sections["vision"] != "Films made by the city" {
		t.Fatalf("stored dossier v%d says %q, want v%d with the first tab's text", got.Version, got.Sections["vision"], saved.Version)
	}
}

func TestTransition_StaleVersion_IsRefused(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
	fr := e.Commission(t, "FR")
	ctx := context.Background()
	stale, current := app.Version-1, app.Version

	_, err := e.Service.Transition(ctx, fr, app.ID, engine.Move{Event: engine.EventEndorse, Version: &stale})
	AssertCode(t, err, engine.ESTALEVERSION)
	e.AssertUnchanged(t, app)

	got, err := e.Service.Transition(ctx, fr, app.ID, engine.Move{Event: engine.EventEndorse, Version: &current})
	if err != nil {
		t.Fatalf("endorse at the current version: %v", err)
	}
	if got.State != engine.Endorsed || got.Version != current+1 {
		t.Fatalf("dossier is %s v%d, want endorsed v%d", got.State, got.Version, current+1)
	}
}

// step is one thing done to a dossier: a save (event "") or a move.
type step struct {
	by    By
	event string
	note  string
	at    Moment
}

// TestVersion_IncrementsOnEverySaveAndMove follows a dossier from its
// creation to its designation and checks its version after each step.
func TestVersion_IncrementsOnEverySaveAndMove(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.City(t, "Cannes", "FR")
	app, err := e.Service.CreateApplication(context.Background(), cannes,
		engine.NewApplication{Call: call.ID, City: "Cannes", Country: "FR", Field: Film, Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if app.Version != 1 {
		t.Fatalf("new dossier is v%d, want v1", app.Version)
	}
	for i, s := range []step{
		{by: AsCity},
		{by: AsCity},
		{by: AsCity, event: engine.EventSubmit},
		{by: AsCity, event: engine.EventRetract},
		{by: AsCity},
		{by: AsCity, event: engine.EventSubmit},
		{by: AsCommission, event: engine.EventEndorse},
		{by: AsSecretariat, event: engine.EventAccept, at: AfterClose},
		{by: AsSecretariat, event: engine.EventStartEval},
		{by: AsSecretariat, event: engine.EventRecommend},
		{by: AsSecretariat, event: engine.EventDesignate, at: AtAnnouncementUnswept},
	} {
		if s.at != nil {
			s.at(t, e, call)
		}
		if s.event == "" {
			app, err = e.Service.SaveApplication(context.Background(), s.by(t, e, app), app.ID, CompleteDraft(app.Version))
		} else {
			app, err = e.Service.Transition(context.Background(), s.by(t, e, app), app.ID, engine.Move{Event: s.event})
		}
		if err != nil {
			t.Fatalf("step %d (%q): %v", i+1, s.event, err)
		}
		if want := i + 2; app.Version != want || e.MustGet(t, app.ID).Version != want {
			t.Fatalf("after step %d (%q) the dossier is v%d, stored v%d; want v%d", i+1, s.event, app.Version, e.MustGet(t, app.ID).Version, want)
		}
	}
	if app.State != engine.Designated {
		t.Fatalf("dossier is %s, want designated", app.State)
	}
}

// TestHistory_RecordsEveryMove checks each event a dossier's history keeps:
// who moved it, in what role, from where to where, when and why; saves are
// not moves and leave no event.
func TestHistory_RecordsEveryMove(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.City(t, "Cannes", "FR")
	app := e.MustDraft(t, call.ID, cannes, Film)
	want := []engine.HistoryEvent{{Seq: 1, At: Start, Actor: cannes.Email, Role: engine.RoleApplicant, Event: "create", To: engine.Draft}}
	for _, s := range []step{
		{by: AsCity, event: engine.EventSubmit},
		{by: AsCity, event: engine.EventRetract},
		{by: AsCity},
		{by: AsCity, event: engine.EventSubmit},
		{by: AsCommission, event: engine.EventDecline, note: "France endorses two other cities in Film this year."},
	} {
		e.Clock.Add(time.Hour)
		before := e.MustGet(t, app.ID)
		actor := s.by(t, e, app)
		if s.event == "" {
			e.MustSaveAs(t, actor, app.ID, CompleteDraft(before.Version))
			continue
		}
		app = e.MustMove(t, actor, app.ID, s.event, s.note)
		want = append(want, engine.HistoryEvent{Seq: len(want) + 1, At: e.Clock.Now(), Actor: actor.Email, Role: actor.Role,
			Event: s.event, From: before.State, To: app.State, Note: s.note})
	}

	got := e.MustHistory(t, app.ID)

	if len(got) != len(want) {
		t.Fatalf("history has %d events, want %d (4 moves and the creation)", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || !g.At.Equal(w.At) || g.Actor != w.Actor || g.Role != w.Role || g.Event != w.Event || g.From != w.From || g.To != w.To || g.Note != w.Note {
			t.Errorf("event %d = %+v, want %+v", i+1, g, w)
		}
	}
	if got[len(got)-1].To != engine.NotEndorsed {
		t.Errorf("last event ends in %s, want not_endorsed", got[len(got)-1].To)
	}
}

// TestHistory_IsVisibleToWhoeverMaySeeTheDossier checks that the history
// hides a dossier exactly as reading it does.
func TestHistory_IsVisibleToWhoeverMaySeeTheDossier(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	draft := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft)
	submitted := e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Submitted)
	for _, tc := range []struct {
		name  string
		actor engine.Actor
		app   *engine.Application
		code  string
		n     int
	}{
		{"OwnCity_Draft", e.City(t, "Cannes", "FR"), draft, "", 1},
		{"Secretariat_Draft", e.Secretariat(t), draft, engine.ENOTFOUND, 0},
		{"OtherCity_Draft", e.City(t, "Rouen", "FR"), draft, engine.ENOTFOUND, 0},
		{"Commission_Submitted", e.Commission(t, "PT"), submitted, "", 2},
		{"OtherCommission_Submitted", e.Commission(t, "FR"), submitted, engine.ENOTFOUND, 0},
		{"Secretariat_Submitted", e.Secretariat(t), submitted, "", 2},
		{"Public_Submitted", engine.Actor{}, submitted, engine.EUNAUTHORIZED, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := e.Service.History(context.Background(), tc.actor, tc.app.ID)
			AssertCode(t, err, tc.code)
			if len(events) != tc.n {
				t.Fatalf("history has %d events, want %d", len(events), tc.n)
			}
		})
	}
}
