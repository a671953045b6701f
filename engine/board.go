package engine

import (
	"context"
	"sort"
)

// Count is how many of a call's dossiers are in one state and field.
type Count struct {
	State State  `json:"state"`
	Field string `json:"field"`
	N     int    `json:"count"`
}

// Board is the secretariat's overview of a call: its dossiers counted by
// state and field.
type Board struct {
	Call   string         `json:"call"`
	States []State        `json:"states"` // the states with dossiers, in lifecycle order
	Fields []string       `json:"fields"` // the call's fields, then any other held by a dossier
	Counts []Count        `json:"counts"`
	Total  int            `json:"total"`
	ByCell map[string]int `json:"-"` // state + "/" + field, for the page's table
}

// N is the count of one cell of the board.
func (b *Board) N(state State, field string) int { return b.ByCell[string(state)+"/"+field] }

// StateTotal is the count of one state, every field together.
func (b *Board) StateTotal(state State) int {
	n := 0
	for _, c := range b.Counts {
		if c.State == state {
			n += c.N
		}
	}
	return n
}

// FieldTotal is the count of one field, every state together.
func (b *Board) FieldTotal(field string) int {
	n := 0
	for _, c := range b.Counts {
		if c.Field == field {
			n += c.N
		}
	}
	return n
}

// Board counts the call's dossiers by state and field, from the tally the
// store keeps, so it costs the same for a hundred dossiers or a million.
// Like the staff's lists it counts only dossiers submitted at least once: a
// draft is the city's own until then. For the secretariat and the admin. Returns
// EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) Board(ctx context.Context, actor Actor, callID string) (*Board, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if !actor.Staff() {
		return nil, Errorf(EFORBIDDEN, "Only the secretariat sees the board.")
	}
	if !ValidSlug(callID) {
		return nil, Errorf(ENOTFOUND, "No such call.")
	}
	b := &Board{Call: callID, ByCell: map[string]int{}}
	err := s.store.View(ctx, func(tx ReadTx) error {
		call, err := tx.Call(callID)
		if err != nil {
			return err
		}
		b.Fields = append(b.Fields, call.Fields...)
		b.Counts, err = tx.Tally(callID)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, c := range b.Counts {
		b.ByCell[string(c.State)+"/"+c.Field] += c.N
		b.Total += c.N
		if !contains(b.Fields, c.Field) {
			b.Fields = append(b.Fields, c.Field)
		}
	}
	for _, st := range States {
		if b.StateTotal(st) > 0 {
			b.States = append(b.States, st)
		}
	}
	sort.SliceStable(b.Counts, func(i, j int) bool {
		if b.Counts[i].State != b.Counts[j].State {
			return indexOfState(b.Counts[i].State) < indexOfState(b.Counts[j].State)
		}
		return b.Counts[i].Field < b.Counts[j].Field
	})
	return b, nil
}

func indexOfState(s State) int {
	for i, st := range States {
		if st == s {
			return i
		}
	}
	return len(States)
}
