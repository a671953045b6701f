package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/looplab/fsm"
)

// Party is who may fire a move.
type Party string

// The parties of the process.
const (
	// PartyCity is an applicant account of the dossier's own city.
	PartyCity Party = "city"
	// PartyCommission is the National Commission of the dossier's country.
	PartyCommission Party = "commission"
	// PartySecretariat is the secretariat (and the admin).
	PartySecretariat Party = "secretariat"
	// PartySystem is the engine itself, when an instant passes.
	PartySystem Party = "system"
)

// Transition is one row of a dossier's lifecycle: the event, the states it
// leaves and enters, who may fire it, and the guard that may still refuse it.
type Transition struct {
	Event string
	From  []State
	To    State
	By    []Party
	// NeedsNote refuses the move without a reason (EINVALID on "note").
	NeedsNote bool
	// When says in words when the move is allowed or happens; it labels the
	// generated diagram.
	When string
	// Guard refuses the move for a reason of time, quota or completeness.
	Guard func(g *guard) error
	// Notify is who gets an e-mail about the move, written to the outbox in
	// the move's own transaction. A result (Embargoed) waits there until
	// the secretariat releases the call's results.
	Notify    []Party
	Embargoed bool
}

// The dossier events.
const (
	EventSubmit       = "submit"
	EventRetract      = "retract"
	EventEndorse      = "endorse"
	EventDecline      = "decline"
	EventAccept       = "accept"
	EventReject       = "reject"
	EventStartEval    = "start_evaluation"
	EventRecommend    = "recommend"
	EventNotRecommend = "not_recommend"
	EventDesignate    = "designate"
	EventNotDesignate = "not_designate"
	EventWithdraw     = "withdraw"
	EventLapse        = "lapse"
	eventCreate       = "create"
)

var (
	staff          = []Party{PartySecretariat}
	staffAndSystem = []Party{PartySystem, PartySecretariat}
)

// Lifecycle is the dossier's state machine, declared once. The engine builds
// its looplab/fsm events from it, checks parties and guards from it, and the
// README's diagram is drawn from it.
var Lifecycle = []Transition{
	{Event: EventSubmit, From: []State{Draft}, To: Submitted, By: []Party{PartyCity},
		When: "call open, until deadline + grace, complete", Guard: guardSubmit,
		Notify: []Party{PartyCity, PartyCommission}},
	{Event: EventRetract, From: []State{Submitted}, To: Draft, By: []Party{PartyCity},
		When: "until deadline + grace", Guard: guardBeforeClose},
	{Event: EventEndorse, From: []State{Submitted}, To: Endorsed, By: []Party{PartyCommission},
		When: "until endorsement deadline, within country quota", Guard: guardEndorse, Notify: []Party{PartyCity}},
	{Event: EventDecline, From: []State{Submitted}, To: NotEndorsed, By: []Party{PartyCommission},
		NeedsNote: true, When: "with a reason", Notify: []Party{PartyCity}},
	{Event: EventAccept, From: []State{Endorsed}, To: Eligible, By: staff,
		When: "after the call closed", Guard: guardAfterClose, Notify: []Party{PartyCity}},
	{Event: EventReject, From: []State{Endorsed}, To: Ineligible, By: staff,
		NeedsNote: true, When: "with a reason", Notify: []Party{PartyCity}},
	{Event: EventStartEval, From: []State{Eligible}, To: UnderEvaluation, By: staff},
	{Event: EventRecommend, From: []State{UnderEvaluation}, To: Recommended, By: staff},
	{Event: EventNotRecommend, From: []State{UnderEvaluation}, To: NotRecommended, By: staff},
	{Event: EventDesignate, From: []State{Recommended}, To: Designated, By: staffAndSystem,
		When: "at announcement", Guard: guardAnnounced, Notify: []Party{PartyCity}, Embargoed: true},
	{Event: EventNotDesignate, From: []State{NotRecommended}, To: NotDesignated, By: staffAndSystem,
		When: "at announcement", Guard: guardAnnounced, Notify: []Party{PartyCity}, Embargoed: true},
	// A city may withdraw until the announcement. Recommended and
	// not-recommended dossiers are included: the embargo shows them to the
	// city as under evaluation, so refusing them would tell it their fate.
	{Event: EventWithdraw, From: []State{Draft, Submitted, Endorsed, Eligible, UnderEvaluation, Recommended, NotRecommended}, To: Withdrawn,
		By: []Party{PartyCity}, When: "until announcement", Guard: guardBeforeAnnouncement},
	{Event: EventLapse, From: []State{Draft}, To: Lapsed, By: []Party{PartySystem},
		When: "at deadline + grace", Guard: guardLapseDraft},
	{Event: EventLapse, From: []State{Submitted}, To: Lapsed, By: []Party{PartySystem},
		When: "at endorsement deadline", Guard: guardLapseSubmitted},
}

// lifecycleEvents is Lifecycle in looplab/fsm's terms, built once.
var lifecycleEvents = func() fsm.Events {
	var evs fsm.Events
	for _, t := range Lifecycle {
		src := make([]string, len(t.From))
		for i, s := range t.From {
			src[i] = string(s)
		}
		evs = append(evs, fsm.EventDesc{Name: t.Event, Src: src, Dst: string(t.To)})
	}
	return evs
}()

// transitionFor returns the row that fires event from state, or nil.
func transitionFor(event string, from State) *Transition {
	for i := range Lifecycle {
		if Lifecycle[i].Event == event && containsState(Lifecycle[i].From, from) {
			return &Lifecycle[i]
		}
	}
	return nil
}

// partiesOf returns who may fire event, and whether the event exists.
func partiesOf(event string) ([]Party, bool) {
	var parties []Party
	found := false
	for _, t := range Lifecycle {
		if t.Event == event {
			found = true
			for _, p := range t.By {
				if !containsParty(parties, p) {
					parties = append(parties, p)
				}
			}
		}
	}
	return parties, found
}

// Events lists the dossier events in the table's order, each once.
func Events() []string {
	var out []string
	for _, t := range Lifecycle {
		if !contains(out, t.Event) {
			out = append(out, t.Event)
		}
	}
	return out
}

// guard is what a guard may look at to decide.
type guard struct {
	tx   ReadTx
	call *Call
	app  *Application
	// shown is the state the actor sees (see the results embargo); refusals
	// name it, never the real one.
	shown State
	actor Actor
	note  string
	now   time.Time
}

// fire runs event on the dossier's state machine: the table decides whether
// the move exists from the current state, then its guard may refuse it. It
// returns the state the dossier moves to.
func fire(ctx context.Context, g *guard, event string) (State, error) {
	m := fsm.NewFSM(string(g.app.State), lifecycleEvents, fsm.Callbacks{
		"before_event": func(_ context.Context, e *fsm.Event) {
			t := transitionFor(e.Event, State(e.Src))
			if t.NeedsNote && !validNote(g.note, 2000) {
				e.Cancel(FieldTexts(EINVALID, "A reason is required.", map[string]Text{"note": T("reason_required")}))
				return
			}
			if t.Guard != nil {
				if err := t.Guard(g); err != nil {
					e.Cancel(err)
				}
			}
		},
	})
	err := m.Event(ctx, event)
	var invalid fsm.InvalidEventError
	var canceled fsm.CanceledError
	switch {
	case err == nil:
		return State(m.Current()), nil
	case errors.As(err, &invalid):
		return "", Errorf(EINVALIDTRANSITION, "A dossier that is %s cannot be moved by %q.", g.shown, event)
	case errors.As(err, &canceled) && canceled.Err != nil:
		return "", canceled.Err
	default:
		return "", fmt.Errorf("fire %s on dossier %s: %w", event, g.app.ID, err)
	}
}

func guardSubmit(g *guard) error {
	if g.call.State != CallOpen {
		return Errorf(EINVALIDTRANSITION, "The call is %s: dossiers can be submitted only while it is open.", g.call.State)
	}
	if err := guardBeforeClose(g); err != nil {
		return err
	}
	return checkComplete(g.call, g.app)
}

func guardBeforeClose(g *guard) error {
	if g.now.After(g.call.Close()) {
		return Errorf(EDEADLINEPASSED, "The submission deadline (%s) has passed.", formatInstant(g.call.SubmissionDeadline, g.call))
	}
	return nil
}

func guardAfterClose(g *guard) error {
	if g.call.State == CallOpen || !g.now.After(g.call.Close()) {
		return Errorf(EINVALIDTRANSITION, "The call is still open until %s: eligibility is decided after it closes.", formatInstant(g.call.Close(), g.call))
	}
	return nil
}

func guardEndorse(g *guard) error {
	if g.now.After(g.call.EndorsementDeadline) {
		return Errorf(EDEADLINEPASSED, "The endorsement deadline (%s) has passed.", formatInstant(g.call.EndorsementDeadline, g.call))
	}
	return checkQuota(g.tx, g.call, g.app)
}

func guardAnnounced(g *guard) error {
	if g.now.Before(g.call.AnnouncementAt) {
		return Errorf(EINVALIDTRANSITION, "Results are embargoed until the announcement (%s).", formatInstant(g.call.AnnouncementAt, g.call))
	}
	return nil
}

func guardBeforeAnnouncement(g *guard) error {
	if !g.now.Before(g.call.AnnouncementAt) || g.call.State == CallAnnounced || g.call.State == CallArchived {
		return Errorf(EDEADLINEPASSED, "The results were announced on %s: a dossier can no longer be withdrawn.", formatInstant(g.call.AnnouncementAt, g.call))
	}
	return nil
}

// The lapse guards agree with the scheduler (CallTransition.Due): a deadline
// is the last instant people may act, so lapsing starts once it has passed.
func guardLapseDraft(g *guard) error {
	if !g.now.After(g.call.Close()) {
		return Errorf(EINVALIDTRANSITION, "A draft lapses only after the call closes.")
	}
	return nil
}

func guardLapseSubmitted(g *guard) error {
	if !g.now.After(g.call.EndorsementDeadline) {
		return Errorf(EINVALIDTRANSITION, "A submitted dossier lapses only after the endorsement deadline.")
	}
	return nil
}

// endorsedStates are the states a dossier reaches only through an
// endorsement; each such dossier uses one of its country's places.
var endorsedStates = []State{Endorsed, Eligible, Ineligible, UnderEvaluation, Recommended, NotRecommended, Designated, NotDesignated}

// checkQuota refuses an endorsement that would give the country more than
// the call's max_per_country, or two in one field when distinct_fields.
func checkQuota(tx ReadTx, call *Call, app *Application) error {
	endorsed, err := countryEndorsed(tx, call.ID, app.Country)
	if err != nil {
		return err
	}
	if len(endorsed) >= call.MaxPerCountry {
		return Refusal(EQUOTAEXCEEDED, T("quota_full", app.Country, len(endorsed)))
	}
	if call.DistinctFields {
		for _, other := range endorsed {
			if other.Field == app.Field {
				return Refusal(EQUOTAEXCEEDED, T("quota_field", app.Country, FieldName(app.Field)))
			}
		}
	}
	return nil
}

// countryEndorsed lists the country's dossiers in the call that hold an
// endorsement.
func countryEndorsed(tx ReadTx, callID, country string) ([]*Summary, error) {
	var out []*Summary
	err := eachApplication(tx, Query{Call: callID, Country: country, LeftDraft: true}, func(a *Summary) error {
		if containsState(endorsedStates, a.State) {
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// formatInstant writes t in the call's time zone, as cities are shown it.
func formatInstant(t time.Time, c *Call) string {
	return t.In(c.Location()).Format("2 Jan 2006 15:04 MST")
}

func containsState(list []State, s State) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsParty(list []Party, p Party) bool {
	for _, v := range list {
		if v == p {
			return true
		}
	}
	return false
}
