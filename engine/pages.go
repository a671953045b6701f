package engine

import (
	"context"
	"sort"
)

// SetLanguage sets the language the actor's own account reads in, so every
// page, on every device, follows it. Returns EUNAUTHORIZED or EINVALID.
func (s *Service) SetLanguage(ctx context.Context, actor Actor, lang string) error {
	if err := requireSignedIn(actor); err != nil {
		return err
	}
	if !contains(supportedLanguages, lang) {
		return FieldErrors(EINVALID, "Unknown language.", map[string]string{"language": "must be en or fr"})
	}
	return s.store.Update(ctx, func(tx Tx) error {
		u, err := tx.User(actor.UserID)
		if err != nil {
			return err
		}
		if u.Language == lang {
			return nil
		}
		next := *u
		next.Language, next.UpdatedAt = lang, s.clock.Now()
		return tx.PutUser(&next)
	})
}

// Moves lists the events the actor may fire on the dossier now, in the
// order of the lifecycle table: the party may, the state machine has the
// move, and its guard lets it through. An event that only lacks a reason
// (the form asks for one) or a submission of an incomplete dossier (the
// refusal says what is missing) counts as allowed. Returns EUNAUTHORIZED or
// ENOTFOUND.
func (s *Service) Moves(ctx context.Context, actor Actor, id string) ([]string, error) {
	moves := []string{}
	err := s.store.View(ctx, func(tx ReadTx) error {
		app, call, err := visibleInCall(tx, actor, id)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		for _, event := range Events() {
			parties, _ := partiesOf(event)
			allowed := false
			for _, p := range parties {
				allowed = allowed || (p != PartySystem && isParty(actor, p, &app.Summary))
			}
			if !allowed {
				continue
			}
			g := &guard{tx: tx, call: call, app: app, shown: shownState(actor, call, &app.Summary, now), actor: actor, note: "-", now: now}
			// A submission refused only for what is missing stays on offer:
			// submitting is how a city learns, input by input, what it lacks.
			if _, err := fire(ctx, g, event); err == nil || ErrorCode(err) == EINCOMPLETE {
				moves = append(moves, event)
			}
		}
		return nil
	})
	return moves, err
}

// NeedsNote reports whether the event must be given a reason.
func NeedsNote(event string) bool {
	for _, t := range Lifecycle {
		if t.Event == event && t.NeedsNote {
			return true
		}
	}
	return false
}

// Quota is how much of its country's places a call has given.
type Quota struct {
	Call     string   `json:"call"`
	Country  string   `json:"country"`
	Endorsed int      `json:"endorsed"`
	Max      int      `json:"max"`
	Fields   []string `json:"fields"`
	Distinct bool     `json:"distinct_fields"`
}

// CountryQuota returns the endorsements the country holds in the call: for
// its commission and the staff. Returns EUNAUTHORIZED, EFORBIDDEN or
// ENOTFOUND.
func (s *Service) CountryQuota(ctx context.Context, actor Actor, callID, country string) (*Quota, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if !actor.Staff() && !(actor.Role == RoleCommission && actor.Country == country) {
		return nil, Errorf(EFORBIDDEN, "Only the country's commission and the secretariat see its quota.")
	}
	if !ValidSlug(callID) || !ValidCountry(country) {
		return nil, Errorf(ENOTFOUND, "No such call.")
	}
	q := &Quota{Call: callID, Country: country, Fields: []string{}}
	err := s.store.View(ctx, func(tx ReadTx) error {
		call, err := tx.Call(callID)
		if err != nil {
			return err
		}
		endorsed, err := countryEndorsed(tx, callID, country)
		if err != nil {
			return err
		}
		q.Max, q.Distinct, q.Endorsed = call.MaxPerCountry, call.DistinctFields, len(endorsed)
		for _, a := range endorsed {
			if !contains(q.Fields, a.Field) {
				q.Fields = append(q.Fields, a.Field)
			}
		}
		sort.Strings(q.Fields)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}
