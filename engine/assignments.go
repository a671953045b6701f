package engine

import (
	"context"
	"sort"
	"time"
)

// Assignment gives an evaluator one dossier to read and assess.
type Assignment struct {
	Application string    `json:"application"`
	Evaluator   string    `json:"evaluator"`
	Email       string    `json:"email"`
	Kind        string    `json:"kind"`
	At          time.Time `json:"at"`
	By          string    `json:"by"`
}

// The kinds of evaluation: an independent expert, or a member city of the
// same field consulted on the dossier.
const (
	KindExpert     = "expert"
	KindMemberCity = "member_city"
)

// Assign gives the evaluator account the dossier, which must be under
// evaluation. An evaluator never assesses a city of its own country. Returns
// EUNAUTHORIZED, EFORBIDDEN (not staff), ENOTFOUND, EINVALID (not an
// evaluator, unknown kind), EINVALIDTRANSITION (not under evaluation) or
// ECONFLICT (conflict of interest).
func (s *Service) Assign(ctx context.Context, actor Actor, appID, evaluatorID, kind string) (*Assignment, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if kind != KindExpert && kind != KindMemberCity {
		return nil, FieldTexts(EINVALID, "Unknown kind of evaluation.", map[string]Text{"kind": T("not_a_kind")})
	}
	var out *Assignment
	err := s.store.Update(ctx, func(tx Tx) error {
		app, err := visible(tx, actor, appID)
		if err != nil {
			return err
		}
		ev, err := tx.User(evaluatorID)
		if ErrorCode(err) == ENOTFOUND || (err == nil && (ev.Role != RoleEvaluator || ev.Disabled)) {
			return FieldTexts(EINVALID, "No such evaluator.", map[string]Text{"evaluator": T("not_an_evaluator")})
		} else if err != nil {
			return err
		}
		if app.State != UnderEvaluation {
			return Errorf(EINVALIDTRANSITION, "Only a dossier under evaluation can be assigned; this one is %s.", app.State)
		}
		conflicts, err := tx.Conflicts(app.ID)
		if err != nil {
			return err
		}
		for _, c := range conflicts {
			if c.Evaluator == ev.ID {
				return Refusal(ECONFLICT, T("conflict_declared", ev.Email, c.Reason))
			}
		}
		if ev.Country == app.Country {
			return Refusal(ECONFLICT, T("conflict_own_country", ev.Email, ev.Country))
		}
		if kind == KindMemberCity && !memberOf(ev, app.Field) {
			return FieldTexts(EINVALID, "Only a member city of the dossier's field is consulted.",
				map[string]Text{"evaluator": T("not_member_city", FieldName(app.Field))})
		}
		out = &Assignment{Application: app.ID, Evaluator: ev.ID, Email: ev.Email, Kind: kind, At: s.clock.Now(), By: actor.Email}
		return tx.PutAssignment(*out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unassign takes the dossier back from the evaluator, with any review it
// had written. Returns
// EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) Unassign(ctx context.Context, actor Actor, appID, evaluatorID string) error {
	if err := requireStaff(actor); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if _, err := visible(tx, actor, appID); err != nil {
			return err
		}
		if !assigned(tx, appID, evaluatorID) {
			return Errorf(ENOTFOUND, "That evaluator is not assigned to the dossier.")
		}
		// A review is the evaluator's work on an assignment; without the
		// assignment it would count in the ranking with nobody answerable.
		if err := tx.DeleteReview(appID, evaluatorID); err != nil {
			return err
		}
		return tx.DeleteAssignment(appID, evaluatorID)
	})
}

// Assignments lists the dossier's evaluators (staff only). Returns
// EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) Assignments(ctx context.Context, actor Actor, appID string) ([]Assignment, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var out []Assignment
	err := s.store.View(ctx, func(tx ReadTx) error {
		if _, err := visible(tx, actor, appID); err != nil {
			return err
		}
		var err error
		out, err = tx.Assignments(appID)
		return err
	})
	return out, err
}

// assigned reports whether the evaluator has the dossier.
func assigned(tx ReadTx, appID, evaluatorID string) bool {
	list, err := tx.Assignments(appID)
	if err != nil {
		return false
	}
	for _, a := range list {
		if a.Evaluator == evaluatorID {
			return true
		}
	}
	return false
}

// memberOf reports whether the evaluator account is a member city of the
// creative field: the consultation the Network asks of its own cities.
func memberOf(ev *User, field string) bool {
	return ev.City != "" && ev.Field == field
}

// Candidate is an evaluator account the secretariat may (or may not, and
// why) assign to a dossier.
type Candidate struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Country string `json:"country"`
	City    string `json:"city,omitempty"`
	Field   string `json:"field,omitempty"`
	// Kinds are the kinds of evaluation it may be assigned for: expert
	// always, member_city when it is a member city of the dossier's field.
	Kinds []string `json:"kinds"`
	// Barred says why it may not be assigned at all: "assigned" (it is
	// already), "own_country" or "conflict" (it declared one); "" if it may.
	Barred string `json:"barred,omitempty"`
}

// Candidates lists the active evaluator accounts for the dossier, those
// that may be assigned first, each with what it may be assigned as or why
// it may not (staff only). Returns EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) Candidates(ctx context.Context, actor Actor, appID string) ([]Candidate, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var out []Candidate
	err := s.store.View(ctx, func(tx ReadTx) error {
		app, err := visible(tx, actor, appID)
		if err != nil {
			return err
		}
		users, err := tx.Users()
		if err != nil {
			return err
		}
		conflicts, err := tx.Conflicts(appID)
		if err != nil {
			return err
		}
		barred := map[string]string{}
		for _, c := range conflicts {
			barred[c.Evaluator] = "conflict"
		}
		list, err := tx.Assignments(appID)
		if err != nil {
			return err
		}
		for _, a := range list {
			barred[a.Evaluator] = "assigned"
		}
		for _, u := range users {
			if u.Role != RoleEvaluator || u.Disabled {
				continue
			}
			c := Candidate{ID: u.ID, Email: u.Email, Country: u.Country, City: u.City, Field: u.Field,
				Kinds: []string{KindExpert}, Barred: barred[u.ID]}
			if c.Barred == "" && u.Country == app.Country {
				c.Barred = "own_country"
			}
			if memberOf(u, app.Field) {
				c.Kinds = append(c.Kinds, KindMemberCity)
			}
			out = append(out, c)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Barred == "" && out[j].Barred != "" })
	return out, err
}
