package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"designate/engine"
)

// Snapshot is everything a pass of the scheduler may change, as JSON: every
// call, every dossier and every dossier's history.
func (e *Env) Snapshot(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	calls, err := e.Service.Calls(ctx)
	if err != nil {
		tb.Fatalf("list calls: %v", err)
	}
	var apps []*engine.Application
	histories := map[string][]engine.HistoryEvent{}
	for _, h := range e.MustList(tb, engine.System, engine.Query{Limit: 7}) {
		a, err := e.Service.Application(context.Background(), engine.System, h.ID)
		if err != nil {
			tb.Fatalf("read dossier %s: %v", h.ID, err)
		}
		apps = append(apps, a)
		histories[a.ID] = e.MustHistory(tb, a.ID)
	}
	raw, err := json.MarshalIndent(struct {
		Calls     []*engine.Call
		Dossiers  []*engine.Application
		Histories map[string][]engine.HistoryEvent
	}{calls, apps, histories}, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(raw)
}

// MustList follows the cursor through every page of the query as the actor.
func (e *Env) MustList(tb testing.TB, actor engine.Actor, q engine.Query) []*engine.Summary {
	tb.Helper()
	var all []*engine.Summary
	for {
		page, err := e.Service.Applications(context.Background(), actor, q)
		if err != nil {
			tb.Fatalf("list dossiers %+v as %s: %v", q, actor.Role, err)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		q.After = page.NextCursor
	}
}

// AssertCallState fails unless the stored call is in the state.
func (e *Env) AssertCallState(tb testing.TB, id string, want engine.CallState) {
	tb.Helper()
	if got := e.MustCall(tb, id).State; got != want {
		tb.Fatalf("call %s is %s at %s, want %s", id, got, e.Clock.Now(), want)
	}
}

// AssertStates fails unless each dossier is stored in its state.
func (e *Env) AssertStates(tb testing.TB, want map[*engine.Application]engine.State) {
	tb.Helper()
	for app, state := range want {
		if got := e.MustGet(tb, app.ID).State; got != state {
			tb.Errorf("%s's dossier is %s, want %s", app.City, got, state)
		}
	}
}

// AssertMovedBySystem fails unless the dossier's last event is the system
// firing event from one state to another at the clock's time.
func (e *Env) AssertMovedBySystem(tb testing.TB, app *engine.Application, event string, from, to engine.State) {
	tb.Helper()
	events := e.MustHistory(tb, app.ID)
	last := events[len(events)-1]
	if last.Actor != "system" || last.Role != engine.RoleSystem || last.Event != event || last.From != from || last.To != to || !last.At.Equal(e.Clock.Now()) {
		tb.Errorf("%s's last event = %+v, want %s by the system from %s to %s at %s", app.City, last, event, from, to, e.Clock.Now())
	}
}

func TestCreateCall_OpensAtInThePast_IsOpenAtOnce(t *testing.T) {
	e := MustOpenService(t)
	c := NewCall(CallID, e.Clock.Now())
	c.OpensAt = e.Clock.Now().Add(-24 * time.Hour)

	call := e.MustCreateCall(t, c)

	if call.State != engine.CallOpen || call.Version != 2 {
		t.Fatalf("call is %s v%d, want open v2 (created, then opened)", call.State, call.Version)
	}
	e.AssertCallState(t, CallID, engine.CallOpen)
}

func TestAdvance_AtOpensAt_OpensThePlannedCall(t *testing.T) {
	e := MustOpenService(t)
	c := NewCall(CallID, e.Clock.Now())
	c.OpensAt = e.Clock.Now().Add(time.Hour)
	if call := e.MustCreateCall(t, c); call.State != engine.CallPlanned {
		t.Fatalf("call opening in an hour is %s, want planned", call.State)
	}
	e.MoveClockTo(t, c.OpensAt.Add(-time.Nanosecond))
	e.MustAdvance(t)
	e.AssertCallState(t, CallID, engine.CallPlanned)
	_, err := e.Service.CreateApplication(context.Background(), e.City(t, "Cannes", "FR"),
		engine.NewApplication{Call: CallID, City: "Cannes", Country: "FR", Field: Film, Language: "fr"})
	AssertCode(t, err, engine.EINVALIDTRANSITION)

	e.MoveClockTo(t, c.OpensAt)
	e.MustAdvance(t)

	e.AssertCallState(t, CallID, engine.CallOpen)
	e.MustDraft(t, CallID, e.City(t, "Cannes", "FR"), Film)
}

func TestAdvance_AtClose_ClosesTheCallAndLapsesDrafts(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft)
	covilha := e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Draft)
	huaian := e.MustReach(t, call, e.City(t, "Huai'an", "CN"), Gastronomy, engine.Submitted)

	// The close is the last instant a city may submit: nothing moves at it.
	e.MoveClockTo(t, call.Close())
	e.MustAdvance(t)
	e.AssertCallState(t, CallID, engine.CallOpen)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Draft, covilha: engine.Draft})

	e.MoveClockTo(t, call.Close().Add(time.Nanosecond))
	e.MustAdvance(t)

	e.AssertCallState(t, CallID, engine.CallClosed)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Lapsed, covilha: engine.Lapsed, huaian: engine.Submitted})
	e.AssertMovedBySystem(t, cannes, engine.EventLapse, engine.Draft, engine.Lapsed)
	e.AssertMovedBySystem(t, covilha, engine.EventLapse, engine.Draft, engine.Lapsed)
}

func TestAdvance_AtEndorsementDeadline_LapsesUnendorsedAndStartsEvaluation(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
	covilha := e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Endorsed)
	huaian := e.MustReach(t, call, e.City(t, "Huai'an", "CN"), Gastronomy, engine.NotEndorsed)
	AfterClose(t, e, call)

	// The endorsement deadline is the last instant a commission may endorse.
	e.MoveClockTo(t, call.EndorsementDeadline)
	e.MustAdvance(t)
	e.AssertCallState(t, CallID, engine.CallClosed)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Submitted})

	e.MoveClockTo(t, call.EndorsementDeadline.Add(time.Nanosecond))
	e.MustAdvance(t)

	e.AssertCallState(t, CallID, engine.CallEvaluation)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Lapsed, covilha: engine.Endorsed, huaian: engine.NotEndorsed})
	e.AssertMovedBySystem(t, cannes, engine.EventLapse, engine.Submitted, engine.Lapsed)
}

func TestAdvance_AtAnnouncement_DesignatesAndAnnouncesInOneStep(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Endorsed)
	covilha := e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Endorsed)
	huaian := e.MustReach(t, call, e.City(t, "Huai'an", "CN"), Gastronomy, engine.Endorsed)
	cannes = e.MustMoveOn(t, call, cannes, engine.Recommended)
	covilha = e.MustMoveOn(t, call, covilha, engine.NotRecommended)
	huaian = e.MustMoveOn(t, call, huaian, engine.UnderEvaluation)
	e.MoveClockTo(t, call.AnnouncementAt.Add(-time.Nanosecond))
	e.MustAdvance(t)
	e.AssertCallState(t, CallID, engine.CallEvaluation)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Recommended, covilha: engine.NotRecommended})

	e.MoveClockTo(t, call.AnnouncementAt)
	e.MustAdvance(t)

	announced := e.MustCall(t, CallID)
	if announced.State != engine.CallAnnounced || announced.AnnouncedAt == nil || !announced.AnnouncedAt.Equal(call.AnnouncementAt) {
		t.Fatalf("call is %s, announced at %v; want announced at %s", announced.State, announced.AnnouncedAt, call.AnnouncementAt)
	}
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Designated, covilha: engine.NotDesignated, huaian: engine.UnderEvaluation})
	e.AssertMovedBySystem(t, cannes, engine.EventDesignate, engine.Recommended, engine.Designated)
	e.AssertMovedBySystem(t, covilha, engine.EventNotDesignate, engine.NotRecommended, engine.NotDesignated)
}

// TestAdvance_Twice_ChangesNothing runs the scheduler a second time at each
// instant of a call's life and checks that nothing moves again.
func TestAdvance_Twice_ChangesNothing(t *testing.T) {
	e := MustOpenService(t)
	c := NewCall(CallID, e.Clock.Now())
	c.OpensAt = e.Clock.Now().Add(time.Hour)
	call := e.MustCreateCall(t, c)
	for _, step := range []struct {
		name   string
		at     time.Time
		before func()
		want   engine.CallState
	}{
		{"AtOpensAt", call.OpensAt, func() {}, engine.CallOpen},
		{"JustAfterClose", call.Close().Add(time.Nanosecond), func() {
			e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft)
			e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Submitted)
			e.MustReach(t, call, e.City(t, "Huai'an", "CN"), Gastronomy, engine.Endorsed)
			e.MustReach(t, call, e.City(t, "Rouen", "FR"), Gastronomy, engine.Endorsed)
		}, engine.CallClosed},
		{"JustAfterEndorsementDeadline", call.EndorsementDeadline.Add(time.Nanosecond), func() {}, engine.CallEvaluation},
		{"AtAnnouncement", call.AnnouncementAt, func() {
			for _, app := range e.MustList(t, engine.System, engine.Query{State: engine.Endorsed}) {
				e.MustMove(t, e.Secretariat(t), app.ID, engine.EventAccept, "")
				e.MustMove(t, e.Secretariat(t), app.ID, engine.EventStartEval, "")
				event := engine.EventRecommend
				if app.City == "Rouen" {
					event = engine.EventNotRecommend
				}
				e.MustMove(t, e.Secretariat(t), app.ID, event, "")
			}
		}, engine.CallAnnounced},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.before()
			e.MoveClockTo(t, step.at)
			e.MustAdvance(t)
			e.AssertCallState(t, CallID, step.want)
			first := e.Snapshot(t)

			e.MustAdvance(t)

			if second := e.Snapshot(t); second != first {
				t.Fatalf("a second pass changed the records:\nfirst:\n%s\nsecond:\n%s", first, second)
			}
		})
	}
}

func TestAdvance_SmallSweepChunk_LapsesEveryDraft(t *testing.T) {
	e := MustOpenService(t)
	e.Service.SweepChunk = 3
	call := e.MustOpenCall(t)
	var drafts []*engine.Application
	for i := range 10 {
		city := e.City(t, fmt.Sprintf("Town %d", i+1), "FR")
		drafts = append(drafts, e.MustDraft(t, call.ID, city, Film))
	}
	submitted := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)

	e.MoveClockTo(t, call.Close().Add(time.Minute))
	e.MustAdvance(t)

	for _, app := range drafts {
		if got := e.MustGet(t, app.ID); got.State != engine.Lapsed || got.Version != app.Version+1 {
			t.Errorf("%s's draft is %s v%d, want lapsed v%d", app.City, got.State, got.Version, app.Version+1)
		}
		e.AssertMovedBySystem(t, app, engine.EventLapse, engine.Draft, engine.Lapsed)
	}
	e.AssertStates(t, map[*engine.Application]engine.State{submitted: engine.Submitted})
	if left := e.MustList(t, engine.System, engine.Query{Call: call.ID, State: engine.Draft}); len(left) != 0 {
		t.Fatalf("%d drafts left after the sweep", len(left))
	}
}

// TestAdvance_ClockPastEveryInstant_MakesEveryMoveInOrder is a server that was
// down from the opening to after the announcement.
func TestAdvance_ClockPastEveryInstant_MakesEveryMoveInOrder(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft)
	covilha := e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Submitted)
	huaian := e.MustReach(t, call, e.City(t, "Huai'an", "CN"), Gastronomy, engine.Endorsed)

	e.MoveClockTo(t, call.AnnouncementAt.Add(time.Hour))
	e.MustAdvance(t)

	e.AssertCallState(t, CallID, engine.CallAnnounced)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Lapsed, covilha: engine.Lapsed, huaian: engine.Endorsed})
	if got := e.MustCall(t, CallID).Version; got != call.Version+3 {
		t.Errorf("call version = %d, want %d (closed, evaluation, announced)", got, call.Version+3)
	}
}

// TestAdvance_AfterRestart_FinishesAnInterruptedSweep is a server stopped
// after it closed the call but before its sweep reached the drafts.
func TestAdvance_AfterRestart_FinishesAnInterruptedSweep(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft)
	covilha := e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Draft)
	ClosedUnswept(t, e, call)
	e.Reopen(t)

	e.MustAdvance(t)

	e.AssertCallState(t, CallID, engine.CallClosed)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Lapsed, covilha: engine.Lapsed})
}

func TestFireCallEvent_BySecretariat(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	staff := e.Secretariat(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		actor engine.Actor
		event string
		code  string
	}{
		{"CloseBeforeItsInstant", staff, engine.CallEventClose, engine.EINVALIDTRANSITION},
		{"ArchiveWhileOpen", staff, engine.CallEventArchive, engine.EINVALIDTRANSITION},
		{"AnnounceWhileOpen", staff, engine.CallEventAnnounce, engine.EINVALIDTRANSITION},
		{"UnknownEvent", staff, "cancel", engine.EINVALID},
		{"ByCommission", e.Commission(t, "FR"), engine.CallEventClose, engine.EFORBIDDEN},
		{"ByPublic", engine.Actor{}, engine.CallEventClose, engine.EUNAUTHORIZED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Service.FireCallEvent(ctx, tc.actor, call.ID, tc.event)
			AssertCode(t, err, tc.code)
			e.AssertCallState(t, call.ID, engine.CallOpen)
		})
	}
	t.Run("ArchiveAfterAnnouncement", func(t *testing.T) {
		AfterAnnouncement(t, e, call)
		got, err := e.Service.FireCallEvent(ctx, staff, call.ID, engine.CallEventArchive)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != engine.CallArchived {
			t.Fatalf("call is %s, want archived", got.State)
		}
	})
}

// wakingClock is the test's clock as the scheduler sees it: it says when the
// scheduler starts to wait, so the test moves the clock only then, with no
// sleep and no race between the two.
type wakingClock struct {
	*engine.ManualClock
	waiting chan time.Duration
	stop    chan struct{}
}

func (c *wakingClock) After(d time.Duration) <-chan time.Time {
	ch := c.ManualClock.After(d)
	select {
	case c.waiting <- d:
	case <-c.stop:
	}
	return ch
}

// receive returns the next value from ch, failing the test if none comes
// (the scheduler is stuck) rather than hanging.
func receive[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		tb.Fatalf("no %s within 10s", what)
		var zero T
		return zero
	}
}

func TestScheduler_Run_MovesTheCallWhenTheClockPasses(t *testing.T) {
	e := MustOpenService(t)
	c := NewCall(CallID, e.Clock.Now())
	c.OpensAt = e.Clock.Now().Add(time.Hour)
	call := e.MustCreateCall(t, c)

	clock := &wakingClock{ManualClock: e.Clock, waiting: make(chan time.Duration), stop: make(chan struct{})}
	passes := make(chan error)
	sc := &engine.Scheduler{Service: e.Service, Clock: clock, Every: time.Minute, Passes: passes}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		close(clock.stop)
		<-done
	})

	// pass waits until the scheduler waits, moves the clock to at, and checks
	// the pass that follows.
	pass := func(t *testing.T, at time.Time) {
		t.Helper()
		if every := receive(t, clock.waiting, "wait by the scheduler"); every != time.Minute {
			t.Fatalf("scheduler waits %s, want its Every (1m)", every)
		}
		e.MoveClockTo(t, at)
		if err := receive(t, passes, "pass of the scheduler"); err != nil {
			t.Fatalf("pass at %s: %v", at, err)
		}
	}

	if err := receive(t, passes, "first pass of the scheduler"); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	e.AssertCallState(t, CallID, engine.CallPlanned)

	pass(t, call.OpensAt)
	e.AssertCallState(t, CallID, engine.CallOpen)

	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft)
	pass(t, call.Close().Add(time.Second))
	e.AssertCallState(t, CallID, engine.CallClosed)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Lapsed})

	pass(t, call.AnnouncementAt)
	e.AssertCallState(t, CallID, engine.CallAnnounced)
}
