package engine_test

import (
	"context"
	"sync"
	"testing"

	"designate/engine"
)

// lifecycleCase fires one event on Cannes's Film dossier once it has been
// brought to a state, by one party, at one moment of the call: the move is
// either allowed (want) or refused (code, and fields for input refusals).
type lifecycleCase struct {
	name   string
	from   engine.State
	event  string
	by     By
	note   string
	at     Moment
	setup  func(tb testing.TB, e *Env, call *engine.Call)
	want   engine.State
	code   string
	fields []string
}

// fillFrenchQuota endorses two other French dossiers, in the other two fields.
func fillFrenchQuota(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.MustReach(tb, call, e.City(tb, "Rouen", "FR"), Gastronomy, engine.Endorsed)
	e.MustReach(tb, call, e.City(tb, "Saint-Étienne", "FR"), Music, engine.Endorsed)
}

const reason = "The dossier does not show a creative sector in the field."

var lifecycleCases = []lifecycleCase{
	// submit
	{name: "ByCity_WhileOpen_IsAllowed", from: engine.Draft, event: engine.EventSubmit, by: AsCity, want: engine.Submitted},
	{name: "ByCity_WithinGrace_IsAllowed", from: engine.Draft, event: engine.EventSubmit, by: AsCity, at: WithinGrace, want: engine.Submitted},
	{name: "ByCity_AtClose_IsAllowed", from: engine.Draft, event: engine.EventSubmit, by: AsCity, at: AtCloseUnswept, want: engine.Submitted},
	{name: "ByCity_AfterDeadlineAndGrace_IsRefused", from: engine.Draft, event: engine.EventSubmit, by: AsCity, at: PastCloseUnswept, code: engine.EDEADLINEPASSED},
	{name: "ByCity_CallNotOpen_IsRefused", from: engine.Draft, event: engine.EventSubmit, by: AsCity, at: ClosedUnswept, code: engine.EINVALIDTRANSITION},
	{name: "ByAnotherCity_CannotSeeTheDraft", from: engine.Draft, event: engine.EventSubmit, by: AsOtherCity, code: engine.ENOTFOUND},
	{name: "BySecretariat_CannotSeeTheDraft", from: engine.Draft, event: engine.EventSubmit, by: AsSecretariat, code: engine.ENOTFOUND},
	{name: "ByCommission_CannotSeeTheDraft", from: engine.Draft, event: engine.EventSubmit, by: AsCommission, code: engine.ENOTFOUND},
	{name: "ByPublic_IsUnauthorized", from: engine.Draft, event: engine.EventSubmit, by: AsPublic, code: engine.EUNAUTHORIZED},
	{name: "BySecretariat_IsForbidden", from: engine.Submitted, event: engine.EventSubmit, by: AsSecretariat, code: engine.EFORBIDDEN},
	{name: "ByCity_Again_IsInvalidTransition", from: engine.Submitted, event: engine.EventSubmit, by: AsCity, code: engine.EINVALIDTRANSITION},

	// retract
	{name: "ByCity_WhileOpen_IsAllowed", from: engine.Submitted, event: engine.EventRetract, by: AsCity, want: engine.Draft},
	{name: "ByCity_WithinGrace_IsAllowed", from: engine.Submitted, event: engine.EventRetract, by: AsCity, at: WithinGrace, want: engine.Draft},
	{name: "ByCity_AfterDeadlineAndGrace_IsRefused", from: engine.Submitted, event: engine.EventRetract, by: AsCity, at: AfterClose, code: engine.EDEADLINEPASSED},
	{name: "ByCommission_IsForbidden", from: engine.Submitted, event: engine.EventRetract, by: AsCommission, code: engine.EFORBIDDEN},
	{name: "ByCity_IsInvalidTransition", from: engine.Endorsed, event: engine.EventRetract, by: AsCity, code: engine.EINVALIDTRANSITION},

	// endorse
	{name: "ByCommission_WhileOpen_IsAllowed", from: engine.Submitted, event: engine.EventEndorse, by: AsCommission, want: engine.Endorsed},
	{name: "ByCommission_AfterClose_IsAllowed", from: engine.Submitted, event: engine.EventEndorse, by: AsCommission, at: AfterClose, want: engine.Endorsed},
	{name: "ByCommission_AfterEndorsementDeadline_IsRefused", from: engine.Submitted, event: engine.EventEndorse, by: AsCommission, at: PastEndorsementUnswept, code: engine.EDEADLINEPASSED},
	{name: "ByCommission_CountryQuotaFull_IsRefused", from: engine.Submitted, event: engine.EventEndorse, by: AsCommission, setup: fillFrenchQuota, code: engine.EQUOTAEXCEEDED},
	{name: "ByCommissionOfAnotherCountry_CannotSeeIt", from: engine.Submitted, event: engine.EventEndorse, by: AsOtherCommission, code: engine.ENOTFOUND},
	{name: "ByCity_IsForbidden", from: engine.Submitted, event: engine.EventEndorse, by: AsCity, code: engine.EFORBIDDEN},
	{name: "BySecretariat_IsForbidden", from: engine.Submitted, event: engine.EventEndorse, by: AsSecretariat, code: engine.EFORBIDDEN},
	{name: "ByCommission_Again_IsInvalidTransition", from: engine.Endorsed, event: engine.EventEndorse, by: AsCommission, code: engine.EINVALIDTRANSITION},

	// decline
	{name: "ByCommission_WithReason_IsAllowed", from: engine.Submitted, event: engine.EventDecline, by: AsCommission, note: reason, want: engine.NotEndorsed},
	{name: "ByCommission_WithoutReason_IsRefused", from: engine.Submitted, event: engine.EventDecline, by: AsCommission, code: engine.EINVALID, fields: []string{"note"}},
	{name: "ByCommission_BlankReason_IsRefused", from: engine.Submitted, event: engine.EventDecline, by: AsCommission, note: "   ", code: engine.EINVALID, fields: []string{"note"}},
	{name: "BySecretariat_IsForbidden", from: engine.Submitted, event: engine.EventDecline, by: AsSecretariat, note: reason, code: engine.EFORBIDDEN},

	// accept
	{name: "BySecretariat_AfterClose_IsAllowed", from: engine.Endorsed, event: engine.EventAccept, by: AsSecretariat, at: AfterClose, want: engine.Eligible},
	{name: "BySecretariat_WhileCallOpen_IsRefused", from: engine.Endorsed, event: engine.EventAccept, by: AsSecretariat, code: engine.EINVALIDTRANSITION},
	{name: "BySecretariat_WithinGrace_IsRefused", from: engine.Endorsed, event: engine.EventAccept, by: AsSecretariat, at: WithinGrace, code: engine.EINVALIDTRANSITION},
	{name: "ByCommissionOfSameCountry_IsForbidden", from: engine.Endorsed, event: engine.EventAccept, by: AsCommission, at: AfterClose, code: engine.EFORBIDDEN},
	{name: "BySecretariat_NotEndorsed_IsInvalidTransition", from: engine.Submitted, event: engine.EventAccept, by: AsSecretariat, at: AfterClose, code: engine.EINVALIDTRANSITION},

	// reject
	{name: "BySecretariat_WithReason_IsAllowed", from: engine.Endorsed, event: engine.EventReject, by: AsSecretariat, note: reason, at: AfterClose, want: engine.Ineligible},
	{name: "BySecretariat_WithoutReason_IsRefused", from: engine.Endorsed, event: engine.EventReject, by: AsSecretariat, at: AfterClose, code: engine.EINVALID, fields: []string{"note"}},
	{name: "ByCommission_IsForbidden", from: engine.Endorsed, event: engine.EventReject, by: AsCommission, note: reason, at: AfterClose, code: engine.EFORBIDDEN},

	// start_evaluation
	{name: "BySecretariat_IsAllowed", from: engine.Eligible, event: engine.EventStartEval, by: AsSecretariat, want: engine.UnderEvaluation},
	{name: "ByCity_IsForbidden", from: engine.Eligible, event: engine.EventStartEval, by: AsCity, code: engine.EFORBIDDEN},
	{name: "BySecretariat_NotEligible_IsInvalidTransition", from: engine.Ineligible, event: engine.EventStartEval, by: AsSecretariat, code: engine.EINVALIDTRANSITION},

	// recommend, not_recommend
	{name: "BySecretariat_IsAllowed", from: engine.UnderEvaluation, event: engine.EventRecommend, by: AsSecretariat, want: engine.Recommended},
	{name: "ByCommission_IsForbidden", from: engine.UnderEvaluation, event: engine.EventRecommend, by: AsCommission, code: engine.EFORBIDDEN},
	{name: "BySecretariat_NotUnderEvaluation_IsInvalidTransition", from: engine.Eligible, event: engine.EventRecommend, by: AsSecretariat, code: engine.EINVALIDTRANSITION},
	{name: "BySecretariat_IsAllowed", from: engine.UnderEvaluation, event: engine.EventNotRecommend, by: AsSecretariat, want: engine.NotRecommended},
	{name: "ByCity_IsForbidden", from: engine.UnderEvaluation, event: engine.EventNotRecommend, by: AsCity, code: engine.EFORBIDDEN},

	// designate, not_designate
	{name: "BySecretariat_BeforeAnnouncement_IsRefused", from: engine.Recommended, event: engine.EventDesignate, by: AsSecretariat, code: engine.EINVALIDTRANSITION},
	{name: "BySecretariat_AtAnnouncement_IsAllowed", from: engine.Recommended, event: engine.EventDesignate, by: AsSecretariat, at: AtAnnouncementUnswept, want: engine.Designated},
	{name: "BySystem_AtAnnouncement_IsAllowed", from: engine.Recommended, event: engine.EventDesignate, by: AsSystem, at: AtAnnouncementUnswept, want: engine.Designated},
	{name: "ByCity_IsForbidden", from: engine.Recommended, event: engine.EventDesignate, by: AsCity, at: AtAnnouncementUnswept, code: engine.EFORBIDDEN},
	{name: "BySecretariat_NotRecommended_IsInvalidTransition", from: engine.NotRecommended, event: engine.EventDesignate, by: AsSecretariat, at: AtAnnouncementUnswept, code: engine.EINVALIDTRANSITION},
	{name: "BySecretariat_BeforeAnnouncement_IsRefused", from: engine.NotRecommended, event: engine.EventNotDesignate, by: AsSecretariat, code: engine.EINVALIDTRANSITION},
	{name: "BySecretariat_AtAnnouncement_IsAllowed", from: engine.NotRecommended, event: engine.EventNotDesignate, by: AsSecretariat, at: AtAnnouncementUnswept, want: engine.NotDesignated},
	{name: "ByCommission_IsForbidden", from: engine.NotRecommended, event: engine.EventNotDesignate, by: AsCommission, at: AtAnnouncementUnswept, code: engine.EFORBIDDEN},

	// withdraw
	{name: "ByCity_IsAllowed", from: engine.Draft, event: engine.EventWithdraw, by: AsCity, want: engine.Withdrawn},
	{name: "ByAnotherCity_CannotSeeTheDraft", from: engine.Draft, event: engine.EventWithdraw, by: AsOtherCity, code: engine.ENOTFOUND},
	{name: "ByCity_IsAllowed", from: engine.Submitted, event: engine.EventWithdraw, by: AsCity, want: engine.Withdrawn},
	{name: "ByCommission_IsForbidden", from: engine.Submitted, event: engine.EventWithdraw, by: AsCommission, code: engine.EFORBIDDEN},
	{name: "ByCity_IsAllowed", from: engine.Endorsed, event: engine.EventWithdraw, by: AsCity, want: engine.Withdrawn},
	{name: "BySecretariat_IsForbidden", from: engine.Endorsed, event: engine.EventWithdraw, by: AsSecretariat, code: engine.EFORBIDDEN},
	{name: "ByCity_IsAllowed", from: engine.Eligible, event: engine.EventWithdraw, by: AsCity, want: engine.Withdrawn},
	{name: "ByCity_AtAnnouncement_IsRefused", from: engine.Eligible, event: engine.EventWithdraw, by: AsCity, at: AtAnnouncementUnswept, code: engine.EDEADLINEPASSED},
	{name: "ByCity_IsAllowed", from: engine.UnderEvaluation, event: engine.EventWithdraw, by: AsCity, want: engine.Withdrawn},
	{name: "ByCity_AfterAnnouncement_IsRefused", from: engine.UnderEvaluation, event: engine.EventWithdraw, by: AsCity, at: AfterAnnouncement, code: engine.EDEADLINEPASSED},
	{name: "ByCity_IsInvalidTransition", from: engine.NotEndorsed, event: engine.EventWithdraw, by: AsCity, code: engine.EINVALIDTRANSITION},
	{name: "ByCity_IsInvalidTransition", from: engine.Ineligible, event: engine.EventWithdraw, by: AsCity, code: engine.EINVALIDTRANSITION},
	// Under the embargo a recommended dossier looks under evaluation to its
	// city, so it may be withdrawn as one could be.
	{name: "ByCity_IsAllowed", from: engine.Recommended, event: engine.EventWithdraw, by: AsCity, want: engine.Withdrawn},
	{name: "ByCity_AtAnnouncement_IsRefused", from: engine.Recommended, event: engine.EventWithdraw, by: AsCity, at: AtAnnouncementUnswept, code: engine.EDEADLINEPASSED},
	{name: "ByCity_IsAllowed", from: engine.NotRecommended, event: engine.EventWithdraw, by: AsCity, want: engine.Withdrawn},
	{name: "ByCommission_IsForbidden", from: engine.NotRecommended, event: engine.EventWithdraw, by: AsCommission, code: engine.EFORBIDDEN},
	{name: "ByCity_IsInvalidTransition", from: engine.Designated, event: engine.EventWithdraw, by: AsCity, code: engine.EINVALIDTRANSITION},
	{name: "ByCity_IsInvalidTransition", from: engine.Withdrawn, event: engine.EventWithdraw, by: AsCity, code: engine.EINVALIDTRANSITION},
	{name: "ByCity_IsInvalidTransition", from: engine.Lapsed, event: engine.EventWithdraw, by: AsCity, code: engine.EINVALIDTRANSITION},

	// lapse
	{name: "BySystem_AfterClose_IsAllowed", from: engine.Draft, event: engine.EventLapse, by: AsSystem, at: PastCloseUnswept, want: engine.Lapsed},
	{name: "BySystem_AtClose_IsRefused", from: engine.Draft, event: engine.EventLapse, by: AsSystem, at: AtCloseUnswept, code: engine.EINVALIDTRANSITION},
	{name: "BySystem_WhileOpen_IsRefused", from: engine.Draft, event: engine.EventLapse, by: AsSystem, at: WithinGrace, code: engine.EINVALIDTRANSITION},
	{name: "ByCity_IsForbidden", from: engine.Draft, event: engine.EventLapse, by: AsCity, at: PastCloseUnswept, code: engine.EFORBIDDEN},
	{name: "BySystem_AfterEndorsementDeadline_IsAllowed", from: engine.Submitted, event: engine.EventLapse, by: AsSystem, at: PastEndorsementUnswept, want: engine.Lapsed},
	{name: "BySystem_AtEndorsementDeadline_IsRefused", from: engine.Submitted, event: engine.EventLapse, by: AsSystem, at: AtEndorsementDeadlineUnswept, code: engine.EINVALIDTRANSITION},
	{name: "BySystem_BeforeEndorsementDeadline_IsRefused", from: engine.Submitted, event: engine.EventLapse, by: AsSystem, at: AfterClose, code: engine.EINVALIDTRANSITION},
	{name: "BySecretariat_IsForbidden", from: engine.Submitted, event: engine.EventLapse, by: AsSecretariat, at: PastEndorsementUnswept, code: engine.EFORBIDDEN},
	{name: "BySystem_Endorsed_IsInvalidTransition", from: engine.Endorsed, event: engine.EventLapse, by: AsSystem, at: PastEndorsementUnswept, code: engine.EINVALIDTRANSITION},

	// an event the lifecycle does not know
	{name: "Approve_IsInvalid", from: engine.Submitted, event: "approve", by: AsSecretariat, code: engine.EINVALID, fields: []string{"event"}},
}

// TestLifecycle_EveryRow_IsAllowedAndRefused runs lifecycleCases, then checks
// that every (event, from) pair of engine.Lifecycle was allowed at least once
// and refused at least once, so a row added without tests fails here.
func TestLifecycle_EveryRow_IsAllowedAndRefused(t *testing.T) {
	type outcome struct {
		event   string
		from    engine.State
		allowed bool
	}
	var (
		mu   sync.Mutex
		seen = map[outcome]bool{}
		ran  int
	)
	t.Run("case", func(t *testing.T) {
		for _, c := range lifecycleCases {
			t.Run(c.event+"/"+string(c.from)+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				mu.Lock()
				ran++
				mu.Unlock()
				allowed := runLifecycleCase(t, c)
				if !t.Failed() {
					mu.Lock()
					seen[outcome{c.event, c.from, allowed}] = true
					mu.Unlock()
				}
			})
		}
	})
	if ran < len(lifecycleCases) {
		t.Logf("only %d of %d cases ran (-run filter): not checking that every row is covered", ran, len(lifecycleCases))
		return
	}
	for _, row := range engine.Lifecycle {
		for _, from := range row.From {
			if !seen[outcome{row.Event, from, true}] {
				t.Errorf("no passing case fires %s from %s and is allowed", row.Event, from)
			}
			if !seen[outcome{row.Event, from, false}] {
				t.Errorf("no passing case fires %s from %s and is refused", row.Event, from)
			}
		}
	}
}

// runLifecycleCase plays one case on a fresh database and reports whether
// the move was allowed.
func runLifecycleCase(t *testing.T, c lifecycleCase) bool {
	t.Helper()
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	if c.setup != nil {
		c.setup(t, e, call)
	}
	app := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, c.from)
	if c.at != nil {
		c.at(t, e, call)
	}
	before := e.MustGet(t, app.ID)
	if before.State != c.from {
		t.Fatalf("before the move the dossier is %s, want %s", before.State, c.from)
	}
	history := e.MustHistory(t, app.ID)
	actor := c.by(t, e, before)

	got, err := e.Service.Transition(context.Background(), actor, app.ID, engine.Move{Event: c.event, Note: c.note})

	if c.code != "" {
		AssertCode(t, err, c.code)
		if c.fields != nil {
			AssertFields(t, err, c.fields...)
		}
		if got != nil {
			t.Errorf("a refused move returned a dossier (%s)", got.State)
		}
		e.AssertUnchanged(t, before)
		if n := len(e.MustHistory(t, app.ID)); n != len(history) {
			t.Errorf("history has %d events after a refusal, want %d", n, len(history))
		}
		return false
	}

	if err != nil {
		t.Fatalf("%s refused: %v (%v)", c.event, err, engine.ErrorFields(err))
	}
	if row := lifecycleRow(c.event, c.from); row == nil || row.To != c.want {
		t.Fatalf("engine.Lifecycle has no row moving %s from %s to %s", c.event, c.from, c.want)
	}
	// The actor is answered with the version it can know: during the
	// results embargo a city does not see the hidden recommendation's move.
	wantVersion := before.Version + 1 - before.HiddenMoves
	if actor.Staff() || actor.Role == engine.RoleSystem {
		wantVersion = before.Version + 1
	}
	if got.State != c.want || got.Version != wantVersion {
		t.Errorf("move returned %s v%d, want %s v%d", got.State, got.Version, c.want, wantVersion)
	}
	stored := e.MustGet(t, app.ID)
	if stored.State != c.want || stored.Version != before.Version+1 {
		t.Errorf("stored dossier is %s v%d, want %s v%d", stored.State, stored.Version, c.want, before.Version+1)
	}
	events := e.MustHistory(t, app.ID)
	if len(events) != len(history)+1 {
		t.Fatalf("history has %d events, want %d", len(events), len(history)+1)
	}
	want := engine.HistoryEvent{Seq: len(history) + 1, At: e.Clock.Now(), Actor: actor.Email, Role: actor.Role,
		Event: c.event, From: c.from, To: c.want, Note: c.note}
	if last := events[len(events)-1]; !last.At.Equal(want.At) || last.Seq != want.Seq || last.Actor != want.Actor ||
		last.Role != want.Role || last.Event != want.Event || last.From != want.From || last.To != want.To || last.Note != want.Note {
		t.Errorf("last history event = %+v, want %+v", last, want)
	}
	return true
}

// lifecycleRow returns the row of engine.Lifecycle that fires event from state.
func lifecycleRow(event string, from engine.State) *engine.Transition {
	for i, row := range engine.Lifecycle {
		if row.Event != event {
			continue
		}
		for _, s := range row.From {
			if s == from {
				return &engine.Lifecycle[i]
			}
		}
	}
	return nil
}
