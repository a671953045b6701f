package engine

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"time"
)

// CallTransition is one row of a call's lifecycle. A move with At happens by
// itself when that instant passes (and the secretariat may fire it from then
// on); one without is fired only by the secretariat.
type CallTransition struct {
	Event string
	From  CallState
	To    CallState
	At    func(*Call) time.Time
	// AtName names the instant, for messages and the diagram.
	AtName string
	// Deadline marks an instant that is the last moment of the phase before
	// it: people may still act at the instant itself, so the move happens
	// once it has passed. Other moves happen at their instant.
	Deadline bool
	// Sweeps are the moves the call's dossiers make with this one.
	Sweeps []Sweep
	// Atomic puts the sweeps in the call's own transaction, so no reader ever
	// sees half of them (the announcement). Otherwise they run in chunks
	// after it and resume after a restart.
	Atomic bool
}

// Sweep moves every dossier of a call in state From by Event.
type Sweep struct {
	From  State
	Event string
}

// The call events.
const (
	CallEventOpen     = "open"
	CallEventClose    = "close"
	CallEventEvaluate = "evaluate"
	CallEventAnnounce = "announce"
	CallEventArchive  = "archive"
)

// CallLifecycle is the call's state machine, declared once.
var CallLifecycle = []CallTransition{
	{Event: CallEventOpen, From: CallPlanned, To: CallOpen,
		At: func(c *Call) time.Time { return c.OpensAt }, AtName: "opens_at"},
	{Event: CallEventClose, From: CallOpen, To: CallClosed,
		At: (*Call).Close, AtName: "submission_deadline + grace", Deadline: true,
		Sweeps: []Sweep{{Draft, EventLapse}}},
	{Event: CallEventEvaluate, From: CallClosed, To: CallEvaluation,
		At: func(c *Call) time.Time { return c.EndorsementDeadline }, AtName: "endorsement_deadline", Deadline: true,
		Sweeps: []Sweep{{Submitted, EventLapse}}},
	{Event: CallEventAnnounce, From: CallEvaluation, To: CallAnnounced,
		At: func(c *Call) time.Time { return c.AnnouncementAt }, AtName: "announcement_at",
		Sweeps: []Sweep{{Recommended, EventDesignate}, {NotRecommended, EventNotDesignate}}, Atomic: true},
	{Event: CallEventArchive, From: CallAnnounced, To: CallArchived},
}

// Due reports whether the move's instant has come for the call at now.
func (t *CallTransition) Due(c *Call, now time.Time) bool {
	if t.At == nil {
		return false
	}
	if t.Deadline {
		return now.After(t.At(c))
	}
	return !now.Before(t.At(c))
}

func callTransition(event string, from CallState) *CallTransition {
	for i := range CallLifecycle {
		if CallLifecycle[i].Event == event && CallLifecycle[i].From == from {
			return &CallLifecycle[i]
		}
	}
	return nil
}

// callStateOrder is the position of each state in the call's life.
func callStateOrder(s CallState) int {
	for i, t := range CallLifecycle {
		if t.From == s {
			return i
		}
	}
	return len(CallLifecycle)
}

// Calls returns every call. Calls are public.
func (s *Service) Calls(ctx context.Context) ([]*Call, error) {
	var calls []*Call
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		calls, err = tx.Calls()
		return err
	})
	return calls, err
}

// Call returns one call. Returns ENOTFOUND if there is none.
func (s *Service) Call(ctx context.Context, id string) (*Call, error) {
	if !ValidSlug(id) {
		return nil, Errorf(ENOTFOUND, "No such call.")
	}
	var call *Call
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		call, err = tx.Call(id)
		return err
	})
	return call, err
}

// CreateCall configures a new call. It starts planned, and is open at once
// if it opens in the past. Returns EUNAUTHORIZED, EFORBIDDEN (not staff),
// EINVALID (per field) or ECONFLICT (the id is taken).
func (s *Service) CreateCall(ctx context.Context, actor Actor, c Call) (*Call, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	c.State, c.Version, c.CreatedAt, c.UpdatedAt, c.AnnouncedAt = CallPlanned, 1, now, now, nil
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Call(c.ID); err == nil {
			return Errorf(ECONFLICT, "A call with the id %q exists already.", c.ID)
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		return tx.PutCall(&c)
	})
	if err != nil {
		return nil, err
	}
	if err := s.advanceCall(ctx, c.ID); err != nil {
		return nil, err
	}
	return s.Call(ctx, c.ID)
}

// UpdateCall changes a call's configuration; its state, which only moves
// forward, is kept. When version is not 0 it must be the stored one.
// Returns EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND, EINVALID, ESTALEVERSION, or
// ECONFLICT when a field or section that dossiers use would disappear.
func (s *Service) UpdateCall(ctx context.Context, actor Actor, c Call) (*Call, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.Call(c.ID)
		if err != nil {
			return err
		}
		if c.Version != 0 && c.Version != old.Version {
			return Errorf(ESTALEVERSION, "The call was changed meanwhile (version %d, not %d): reload it.", old.Version, c.Version)
		}
		if err := checkCallShrink(tx, old, &c); err != nil {
			return err
		}
		next := c
		next.State, next.Version = old.State, old.Version+1
		next.CreatedAt, next.UpdatedAt, next.AnnouncedAt = old.CreatedAt, s.clock.Now(), old.AnnouncedAt
		return tx.PutCall(&next)
	})
	if err != nil {
		return nil, err
	}
	if err := s.advanceCall(ctx, c.ID); err != nil {
		return nil, err
	}
	return s.Call(ctx, c.ID)
}

// checkCallShrink refuses to drop a creative field or a section once the
// call has dossiers: they would point at nothing.
func checkCallShrink(tx ReadTx, old, next *Call) error {
	// Reviews are scored on the form: once a dossier may have reviews, a
	// changed form would make their means wrong or void.
	if !reflect.DeepEqual(old.Review, next.Review) {
		for _, st := range []State{UnderEvaluation, Recommended, NotRecommended, Designated, NotDesignated} {
			items, _, err := tx.Applications(Query{Call: old.ID, State: st, Limit: 1})
			if err != nil {
				return err
			}
			if len(items) > 0 {
				return Errorf(ECONFLICT, "The review form cannot change: the call has dossiers under evaluation or decided.")
			}
		}
	}
	items, _, err := tx.Applications(Query{Call: old.ID, Limit: 1})
	if err != nil || len(items) == 0 {
		return err
	}
	for _, f := range old.Fields {
		if !next.HasField(f) {
			return Errorf(ECONFLICT, "The field %q cannot be removed: the call has dossiers.", f)
		}
	}
	for _, sec := range old.Sections {
		if next.Section(sec.ID) == nil {
			return Errorf(ECONFLICT, "The section %q cannot be removed: the call has dossiers.", sec.ID)
		}
	}
	if next.MaxPerCountry < old.MaxPerCountry || (next.DistinctFields && !old.DistinctFields) {
		return checkQuotaShrink(tx, next)
	}
	return nil
}

// checkQuotaShrink refuses a stricter quota that endorsements already given
// break: an endorsement is the commission's decision, which a change of
// the rules must not undo nor leave standing against them.
func checkQuotaShrink(tx ReadTx, next *Call) error {
	perCountry := map[string][]string{} // country -> fields of its endorsed dossiers
	for _, st := range endorsedStates {
		err := eachApplication(tx, Query{Call: next.ID, State: st}, func(app *Summary) error {
			perCountry[app.Country] = append(perCountry[app.Country], app.Field)
			return nil
		})
		if err != nil {
			return err
		}
	}
	countries := make([]string, 0, len(perCountry))
	for c := range perCountry {
		countries = append(countries, c)
	}
	sort.Strings(countries)
	for _, country := range countries {
		fields := perCountry[country]
		if len(fields) > next.MaxPerCountry {
			return Errorf(ECONFLICT, "The quota cannot go down to %d: %s already has %d endorsed dossiers in this call.", next.MaxPerCountry, country, len(fields))
		}
		if next.DistinctFields {
			seen := map[string]bool{}
			for _, f := range fields {
				if seen[f] {
					return Errorf(ECONFLICT, "Endorsed dossiers cannot be required to be in different fields: %s already has two endorsed in %s.", country, f)
				}
				seen[f] = true
			}
		}
	}
	return nil
}

// FireCallEvent lets the secretariat move a call: a time-driven move from its
// instant on (when the scheduler has not yet acted), archive at any time.
// Returns EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND, EINVALID (unknown event) or
// EINVALIDTRANSITION.
func (s *Service) FireCallEvent(ctx context.Context, actor Actor, callID, event string) (*Call, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	known := false
	for _, t := range CallLifecycle {
		known = known || t.Event == event
	}
	if !known {
		return nil, FieldErrors(EINVALID, "Unknown call event.", map[string]string{"event": "must be one of open, close, evaluate, announce, archive"})
	}
	call, err := s.Call(ctx, callID)
	if err != nil {
		return nil, err
	}
	t := callTransition(event, call.State)
	if t == nil {
		return nil, Errorf(EINVALIDTRANSITION, "A call that is %s cannot be moved by %q.", call.State, event)
	}
	if t.At != nil && !t.Due(call, s.clock.Now()) {
		return nil, Errorf(EINVALIDTRANSITION, "The call cannot be moved by %q until %s (%s) has come.", event, t.AtName, formatInstant(t.At(call), call))
	}
	if err := s.moveCall(ctx, actor, call.ID, t); err != nil {
		return nil, err
	}
	if err := s.advanceCall(ctx, call.ID); err != nil {
		return nil, err
	}
	return s.Call(ctx, call.ID)
}

// moveCall moves the call by t, with its sweeps when they are atomic, then
// runs the chunked sweeps. A concurrent move of the same call makes this one
// a no-op rather than an error: the call is where it was asked to go.
func (s *Service) moveCall(ctx context.Context, actor Actor, callID string, t *CallTransition) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		call, err := tx.Call(callID)
		if err != nil {
			return err
		}
		if call.State != t.From {
			return nil
		}
		now := s.clock.Now()
		next := *call
		next.State, next.Version, next.UpdatedAt = t.To, call.Version+1, now
		if t.To == CallAnnounced {
			next.AnnouncedAt = &now
		}
		if err := tx.PutCall(&next); err != nil {
			return err
		}
		if t.Atomic {
			for _, sw := range t.Sweeps {
				if _, err := s.sweep(ctx, tx, &next, actor, sw, 0); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("move call %s by %s: %w", callID, t.Event, err)
	}
	return nil
}

// sweep moves up to limit (0: all) dossiers of the call in sw.From by
// sw.Event, inside tx, and returns how many moved.
func (s *Service) sweep(ctx context.Context, tx Tx, call *Call, actor Actor, sw Sweep, limit int) (int, error) {
	moved := 0
	q := Query{Call: call.ID, State: sw.From, Limit: 500}
	for limit == 0 || moved < limit {
		if limit > 0 && limit-moved < q.Limit {
			q.Limit = limit - moved
		}
		page, next, err := tx.Applications(q)
		if err != nil {
			return moved, err
		}
		for _, app := range page {
			// A sweep's moves (lapse, the results) need the head only, so
			// the body is never read: a sweep over 100,000 drafts reads
			// and writes their heads.
			if _, err := s.move(ctx, tx, call, &Application{Summary: *app}, actor, sw.Event, "", nil); err != nil {
				return moved, err
			}
			moved++
		}
		if next == "" {
			break
		}
		q.After = next
	}
	return moved, nil
}
