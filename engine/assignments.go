package engine

import (
	"context"
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
		return nil, FieldErrors(EINVALID, "Unknown kind of evaluation.", map[string]string{"kind": "must be expert or member_city"})
	}
	var out *Assignment
	err := s.store.Update(ctx, func(tx Tx) error {
		app, err := visible(tx, actor, appID)
		if err != nil {
			return err
		}
		ev, err := tx.User(evaluatorID)
		if ErrorCode(err) == ENOTFOUND || (err == nil && (ev.Role != RoleEvaluator || ev.Disabled)) {
			return FieldErrors(EINVALID, "No such evaluator.", map[string]string{"evaluator": "must be the id of an active evaluator account"})
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
				return Errorf(ECONFLICT, "Conflict of interest: %s declared one on this dossier (%s).", ev.Email, c.Reason)
			}
		}
		if ev.Country == app.Country {
			return Errorf(ECONFLICT, "Conflict of interest: %s is of %s, the dossier's own country.", ev.Email, ev.Country)
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
