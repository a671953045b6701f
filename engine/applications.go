package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// NewApplication is what a city gives to start a dossier.
type NewApplication struct {
	Call     string
	City     string
	Country  string
	Field    string
	Language string
}

// DraftEdit is a save of a draft: the whole editable content, at a version.
type DraftEdit struct {
	Version  int
	Contacts Contacts
	Sections map[string]string
	// Field and Language are kept as they are when empty.
	Field    string
	Language string
}

// Move is a request to fire an event on a dossier. Version, when not nil,
// must be the stored version.
type Move struct {
	Event   string
	Note    string
	Version *int
}

// CreateApplication starts a draft for the actor's own city. Returns
// EUNAUTHORIZED, EFORBIDDEN (not an applicant of that city), ENOTFOUND (no
// such call), EINVALID (per field), EINVALIDTRANSITION (call not open),
// EDEADLINEPASSED, or ECONFLICT (the city has a dossier in the call already).
func (s *Service) CreateApplication(ctx context.Context, actor Actor, in NewApplication) (*Application, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleApplicant {
		return nil, Errorf(EFORBIDDEN, "Only an applicant city can start a dossier.")
	}
	if !ValidCountry(in.Country) {
		return nil, FieldErrors(EINVALID, "The dossier cannot be created.", map[string]string{"country": "must be an ISO 3166-1 alpha-2 code such as FR"})
	}
	if in.City != actor.City || in.Country != actor.Country {
		return nil, Errorf(EFORBIDDEN, "An account can start dossiers only for its own city (%s, %s).", actor.City, actor.Country)
	}
	if !ValidSlug(in.Call) {
		return nil, Errorf(ENOTFOUND, "No such call.")
	}
	now := s.clock.Now()
	app := &Application{Summary: Summary{
		ID: newID(now), Call: in.Call, City: in.City, Country: in.Country,
		Field: in.Field, Language: in.Language, State: Draft, Version: 1,
		CreatedAt: now, UpdatedAt: now, Owner: actor.UserID,
	}, Sections: map[string]string{}}
	err := s.store.Update(ctx, func(tx Tx) error {
		call, err := tx.Call(in.Call)
		if err != nil {
			return err
		}
		if err := checkDraft(call, app); err != nil {
			return err
		}
		if call.State != CallOpen {
			return Errorf(EINVALIDTRANSITION, "The call is %s: dossiers can be started only while it is open.", call.State)
		}
		if now.After(call.Close()) {
			return Errorf(EDEADLINEPASSED, "The submission deadline (%s) has passed.", formatInstant(call.SubmissionDeadline, call))
		}
		// One live dossier per city and call: a second would split the
		// city's work and its country's quota.
		mine, _, err := tx.Applications(Query{Call: call.ID, City: in.City, Country: in.Country, Limit: 100})
		if err != nil {
			return err
		}
		for _, other := range mine {
			if other.State != Withdrawn && other.State != Lapsed {
				return Errorf(ECONFLICT, "%s already has a dossier in this call (%s).", in.City, other.ID)
			}
		}
		if err := tx.PutApplication(app); err != nil {
			return err
		}
		return tx.AppendHistory(app.ID, &HistoryEvent{At: now, Actor: actor.Email, Role: actor.Role, Event: eventCreate, To: Draft})
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}

// Application returns a dossier the actor may see. Returns EUNAUTHORIZED or
// ENOTFOUND (none, or not the actor's to see).
func (s *Service) Application(ctx context.Context, actor Actor, id string) (*Application, error) {
	var app *Application
	err := s.store.View(ctx, func(tx ReadTx) error {
		found, call, err := visibleInCall(tx, actor, id)
		if err != nil {
			return err
		}
		app, err = present(tx, actor, call, found, s.clock.Now())
		return err
	})
	return app, err
}

// visible reads a dossier and hides it from whoever may not know it exists.
func visible(tx ReadTx, actor Actor, id string) (*Application, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, Errorf(ENOTFOUND, "No such dossier.")
	}
	app, err := tx.Application(id)
	if err != nil {
		return nil, err
	}
	if !canSee(tx, actor, &app.Summary) {
		return nil, Errorf(ENOTFOUND, "No such dossier.")
	}
	return app, nil
}

// visibleInCall is visible, with the dossier's call, which every rule and
// the results embargo need.
func visibleInCall(tx ReadTx, actor Actor, id string) (*Application, *Call, error) {
	app, err := visible(tx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	call, err := tx.Call(app.Call)
	if err != nil {
		return nil, nil, err
	}
	return app, call, nil
}

// SaveApplication replaces a draft's content. A draft may be over its word
// limits: submission is what refuses that. Returns EUNAUTHORIZED, ENOTFOUND,
// EFORBIDDEN (not the city's own), EINVALID (per field), ESTALEVERSION,
// EINVALIDTRANSITION (not a draft) or EDEADLINEPASSED.
func (s *Service) SaveApplication(ctx context.Context, actor Actor, id string, edit DraftEdit) (*Application, error) {
	var saved *Application
	err := s.store.Update(ctx, func(tx Tx) error {
		app, call, err := visibleInCall(tx, actor, id)
		if err != nil {
			return err
		}
		if !ownCity(actor, &app.Summary) {
			return Errorf(EFORBIDDEN, "Only the city can edit its dossier.")
		}
		// Versions and states as the city was shown them: under the
		// results embargo the real ones would tell a recommendation.
		now := s.clock.Now()
		if shown := presentVersion(actor, call, &app.Summary, now); edit.Version != shown {
			return Errorf(ESTALEVERSION, "The dossier was saved meanwhile (version %d, not %d): reload it; your text is kept in the form.", shown, edit.Version)
		}
		if app.State != Draft {
			return Errorf(EINVALIDTRANSITION, "A dossier that is %s cannot be edited: retract it first.", shownState(actor, call, &app.Summary, now))
		}
		if now.After(call.Close()) {
			return Errorf(EDEADLINEPASSED, "The submission deadline (%s) has passed.", formatInstant(call.SubmissionDeadline, call))
		}
		next := app.Clone()
		next.Contacts = edit.Contacts
		next.Sections = map[string]string{}
		for k, v := range edit.Sections {
			next.Sections[k] = v
		}
		if edit.Field != "" {
			next.Field = edit.Field
		}
		if edit.Language != "" {
			next.Language = edit.Language
		}
		if err := checkDraft(call, next); err != nil {
			return err
		}
		next.Version, next.UpdatedAt = app.Version+1, now
		saved = next
		return tx.PutApplication(next)
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// Transition fires a lifecycle event on a dossier. Returns EUNAUTHORIZED,
// ENOTFOUND, EINVALID (unknown event, missing reason), EFORBIDDEN (not a
// party to the event), ESTALEVERSION, EINVALIDTRANSITION, EDEADLINEPASSED,
// EQUOTAEXCEEDED or EINCOMPLETE.
func (s *Service) Transition(ctx context.Context, actor Actor, id string, m Move) (*Application, error) {
	if _, known := partiesOf(m.Event); !known {
		return nil, FieldErrors(EINVALID, "Unknown event.", map[string]string{"event": "must be one of " + strings.Join(Events(), ", ")})
	}
	var moved *Application
	err := s.store.Update(ctx, func(tx Tx) error {
		app, call, err := visibleInCall(tx, actor, id)
		if err != nil {
			return err
		}
		next, err := s.move(ctx, tx, call, app, actor, m.Event, m.Note, m.Version)
		if err != nil {
			return err
		}
		moved, err = present(tx, actor, call, next, s.clock.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wakeOutbox()
	return moved, nil
}

// move is the one path every dossier move takes, by a person or by the
// system: party check, state machine, guard, then the new state and its
// history event written in the same transaction.
func (s *Service) move(ctx context.Context, tx Tx, call *Call, app *Application, actor Actor, event, note string, version *int) (*Application, error) {
	parties, _ := partiesOf(event)
	allowed := false
	for _, p := range parties {
		allowed = allowed || isParty(actor, p, &app.Summary)
	}
	if !allowed {
		return nil, Errorf(EFORBIDDEN, "You may not %s this dossier.", strings.ReplaceAll(event, "_", " "))
	}
	now := s.clock.Now()
	if shown := presentVersion(actor, call, &app.Summary, now); version != nil && *version != shown {
		return nil, Errorf(ESTALEVERSION, "The dossier changed meanwhile (version %d, not %d): reload it.", shown, *version)
	}
	to, err := fire(ctx, &guard{tx: tx, call: call, app: app, shown: shownState(actor, call, &app.Summary, now), actor: actor, note: note, now: now}, event)
	if err != nil {
		return nil, err
	}
	next := app.Clone()
	next.State, next.Version, next.UpdatedAt = to, app.Version+1, now
	if contains(embargoedEvents, event) {
		next.HiddenMoves++
	}
	switch event {
	case EventSubmit:
		next.SubmittedAt = &now
		next.SubmissionDigest = SubmissionDigest(next)
	case EventRetract:
		next.SubmissionDigest = ""
	}
	// A move changes the head only: the body stays as it is stored.
	if err := tx.PutSummary(&next.Summary); err != nil {
		return nil, err
	}
	ev := &HistoryEvent{At: now, Actor: actor.Email, Role: actor.Role, Event: event, From: app.State, To: to, Note: note}
	if err := tx.AppendHistory(app.ID, ev); err != nil {
		return nil, err
	}
	if err := s.notify(tx, call, next, ev); err != nil {
		return nil, err
	}
	return next, nil
}

// eachApplication calls fn on the head of every dossier matching q, page after page
// (q.Limit and q.After are its own), stopping at fn's first error.
func eachApplication(tx ReadTx, q Query, fn func(*Summary) error) error {
	q.Limit, q.After = MaxPageSize, ""
	for {
		page, next, err := tx.Applications(q)
		if err != nil {
			return err
		}
		for _, app := range page {
			if err := fn(app); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		q.After = next
	}
}

// Page is one page of a list.
type Page struct {
	Items      []*Summary `json:"items"`
	NextCursor string     `json:"next_cursor"`
}

// DefaultPageSize and MaxPageSize bound a list's pages.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Applications lists the heads of the dossiers the actor may see that
// match q. Returns
// EUNAUTHORIZED, or EINVALID for a bad cursor or limit.
func (s *Service) Applications(ctx context.Context, actor Actor, q Query) (*Page, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if q.After != "" && !ValidID(q.After) {
		return nil, FieldErrors(EINVALID, "Bad cursor.", map[string]string{"cursor": "is not a cursor this server gave"})
	}
	if q.CityContains != "" && (!ValidText(q.CityContains, 1, 100) || Fold(q.CityContains) == "") {
		return nil, FieldErrors(EINVALID, "Bad search.", map[string]string{"q": "must be 1 to 100 characters of a city's name"})
	}
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return nil, FieldErrors(EINVALID, "Bad limit.", map[string]string{"limit": fmt.Sprintf("must be between 1 and %d", MaxPageSize)})
	}
	page := &Page{Items: []*Summary{}}
	q, ok := scope(actor, q)
	if !ok {
		return page, nil
	}
	now := s.clock.Now()
	err := s.store.View(ctx, func(tx ReadTx) error {
		calls := callCache{tx: tx, calls: map[string]*Call{}}
		var items []*Summary
		var err error
		if !actor.Staff() && actor.Role != RoleSystem && (q.State == UnderEvaluation || containsState(embargoedStates, q.State)) {
			items, page.NextCursor, err = listByShownState(tx, actor, q, &calls, now)
		} else {
			items, page.NextCursor, err = tx.Applications(q)
		}
		if err != nil {
			return err
		}
		for _, app := range items {
			call, err := calls.get(app.Call)
			if err != nil {
				return err
			}
			shown, err := presentHead(tx, actor, call, app, now)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, shown)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// listByShownState pages through the actor's dossiers keeping those whose
// shown state is q.State: under the embargo, under_evaluation includes the
// recommended ones and recommended matches nothing. Only the secretariat has
// more than a handful of dossiers, and it is never under embargo, so the
// filter runs over few.
func listByShownState(tx ReadTx, actor Actor, q Query, calls *callCache, now time.Time) ([]*Summary, string, error) {
	want, limit := q.State, q.Limit
	q.State = ""
	var out []*Summary
	for len(out) <= limit {
		page, next, err := tx.Applications(q)
		if err != nil {
			return nil, "", err
		}
		for _, app := range page {
			call, err := calls.get(app.Call)
			if err != nil {
				return nil, "", err
			}
			if shownState(actor, call, app, now) == want && len(out) <= limit {
				out = append(out, app)
			}
		}
		if next == "" {
			break
		}
		q.After = next
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].ID, nil
	}
	return out, "", nil
}

// callCache reads each call once per transaction.
type callCache struct {
	tx    ReadTx
	calls map[string]*Call
}

func (c *callCache) get(id string) (*Call, error) {
	if call, ok := c.calls[id]; ok {
		return call, nil
	}
	call, err := c.tx.Call(id)
	if err != nil {
		return nil, err
	}
	c.calls[id] = call
	return call, nil
}

// History returns the moves of a dossier the actor may see, oldest first.
// Returns EUNAUTHORIZED or ENOTFOUND.
func (s *Service) History(ctx context.Context, actor Actor, id string) ([]HistoryEvent, error) {
	var events []HistoryEvent
	err := s.store.View(ctx, func(tx ReadTx) error {
		_, call, err := visibleInCall(tx, actor, id)
		if err != nil {
			return err
		}
		all, err := tx.History(id)
		events = presentHistory(actor, call, all, s.clock.Now())
		return err
	})
	return events, err
}

// Results are a call's designated cities, public once announced.
type Results struct {
	Call  string   `json:"call"`
	Items []Result `json:"items"`
}

// Result is one designated city.
type Result struct {
	City    string `json:"city"`
	Country string `json:"country"`
	Field   string `json:"field"`
}

// Results returns the designated cities of an announced call, by field,
// country and city. Returns ENOTFOUND before the announcement: nobody may
// learn a result early, not even that there are any.
func (s *Service) Results(ctx context.Context, callID string) (*Results, error) {
	if !ValidSlug(callID) {
		return nil, Errorf(ENOTFOUND, "No such call.")
	}
	res := &Results{Call: callID, Items: []Result{}}
	err := s.store.View(ctx, func(tx ReadTx) error {
		call, err := tx.Call(callID)
		if err != nil {
			return err
		}
		if call.State != CallAnnounced && call.State != CallArchived {
			return Errorf(ENOTFOUND, "The results of this call are not announced yet.")
		}
		return eachApplication(tx, Query{Call: callID, State: Designated}, func(a *Summary) error {
			res.Items = append(res.Items, Result{City: a.City, Country: a.Country, Field: a.Field})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(res.Items, func(i, j int) bool {
		a, b := res.Items[i], res.Items[j]
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		if a.Country != b.Country {
			return a.Country < b.Country
		}
		return a.City < b.City
	})
	return res, nil
}
