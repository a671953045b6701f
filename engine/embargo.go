package engine

import (
	"time"
)

// The results embargo: until a call's announcement_at, nobody outside the
// secretariat may learn a recommendation. For everyone else a recommended or
// not-recommended dossier is shown as under evaluation, everywhere a state
// shows: the dossier, lists and their filters, history, versions and
// timestamps, and refusal messages.

// embargoedStates are shown as UnderEvaluation during the embargo.
var embargoedStates = []State{Recommended, NotRecommended}

// embargoedEvents are left out of history during the embargo.
var embargoedEvents = []string{EventRecommend, EventNotRecommend}

// underEmbargo reports whether the actor may not yet learn the call's
// recommendations.
func underEmbargo(a Actor, call *Call, now time.Time) bool {
	return !a.Staff() && a.Role != RoleSystem && now.Before(call.AnnouncementAt)
}

// shownState is the dossier's state as the actor may see it.
func shownState(a Actor, call *Call, app *Summary, now time.Time) State {
	if underEmbargo(a, call, now) && containsState(embargoedStates, app.State) {
		return UnderEvaluation
	}
	return app.State
}

// present returns the dossier as the actor may see it (see presentHead).
func present(tx ReadTx, a Actor, call *Call, app *Application, now time.Time) (*Application, error) {
	head, err := presentHead(tx, a, call, &app.Summary, now)
	if err != nil || head == &app.Summary {
		return app, err
	}
	shown := *app
	shown.Summary = *head
	return &shown, nil
}

// presentHead returns the dossier's head as the actor may see it: itself,
// or a changed copy. During the embargo a dossier with hidden moves gets
// the state, version and time it had before them, so nothing in it tells
// that a move happened.
func presentHead(tx ReadTx, a Actor, call *Call, app *Summary, now time.Time) (*Summary, error) {
	if app.HiddenMoves == 0 && !containsState(embargoedStates, app.State) {
		return app, nil
	}
	if !underEmbargo(a, call, now) {
		if app.HiddenMoves == 0 || a.Staff() || a.Role == RoleSystem {
			return app, nil
		}
		// After the announcement everyone sees the moves; the count of
		// those that were hidden stays the secretariat's bookkeeping.
		shown := app.Clone()
		shown.HiddenMoves = 0
		return shown, nil
	}
	shown := app.Clone()
	shown.State = shownState(a, call, app, now)
	shown.Version = app.Version - app.HiddenMoves
	shown.HiddenMoves = 0
	events, err := tx.History(app.ID)
	if err != nil {
		return nil, err
	}
	for _, ev := range presentHistory(a, call, events, now) {
		shown.UpdatedAt = ev.At
	}
	return shown, nil
}

// presentHistory returns the events the actor may see, numbered as it sees
// them: no gap tells of a hidden one.
func presentHistory(a Actor, call *Call, events []HistoryEvent, now time.Time) []HistoryEvent {
	if !underEmbargo(a, call, now) {
		return events
	}
	out := make([]HistoryEvent, 0, len(events))
	for _, ev := range events {
		if contains(embargoedEvents, ev.Event) {
			continue
		}
		if containsState(embargoedStates, ev.From) {
			ev.From = UnderEvaluation
		}
		if containsState(embargoedStates, ev.To) {
			ev.To = UnderEvaluation
		}
		ev.Seq = len(out) + 1
		out = append(out, ev)
	}
	return out
}

// presentVersion is the version the actor was shown, to check a version it
// sends back against.
func presentVersion(a Actor, call *Call, app *Summary, now time.Time) int {
	if underEmbargo(a, call, now) {
		return app.Version - app.HiddenMoves
	}
	return app.Version
}
