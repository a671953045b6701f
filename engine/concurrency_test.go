package engine_test

import (
	"context"
	"sync"
	"testing"

	"designate/engine"
)

// result is what one concurrent request got back.
type result struct {
	app *engine.Application
	err error
}

// fireTogether fires the moves at once, each from its own goroutine, released
// together so that they reach the store in the same instant.
func fireTogether(moves []func() (*engine.Application, error)) []result {
	results := make([]result, len(moves))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, move := range moves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i].app, results[i].err = move()
		}()
	}
	close(start)
	wg.Wait()
	return results
}

func TestTransition_ConcurrentEndorsements_OnlyOneWins(t *testing.T) {
	const n = 8
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
	fr := e.Commission(t, "FR")
	history := len(e.MustHistory(t, app.ID))
	moves := make([]func() (*engine.Application, error), n)
	for i := range moves {
		moves[i] = func() (*engine.Application, error) {
			return e.Service.Transition(context.Background(), fr, app.ID, engine.Move{Event: engine.EventEndorse})
		}
	}

	results := fireTogether(moves)

	won := 0
	for _, r := range results {
		switch engine.ErrorCode(r.err) {
		case "":
			won++
			if r.app.State != engine.Endorsed || r.app.Version != app.Version+1 {
				t.Errorf("winner got %s v%d, want endorsed v%d", r.app.State, r.app.Version, app.Version+1)
			}
		case engine.EINVALIDTRANSITION:
		default:
			t.Errorf("a losing endorsement got %v, want %s", r.err, engine.EINVALIDTRANSITION)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent endorsements succeeded, want exactly 1", won, n)
	}
	got := e.MustGet(t, app.ID)
	if got.State != engine.Endorsed || got.Version != app.Version+1 {
		t.Fatalf("stored dossier is %s v%d, want endorsed v%d", got.State, got.Version, app.Version+1)
	}
	events := e.MustHistory(t, app.ID)
	if len(events) != history+1 || events[len(events)-1].Event != engine.EventEndorse {
		t.Fatalf("history has %d events ending with %q, want %d ending with one endorse", len(events), events[len(events)-1].Event, history+1)
	}
}

// TestTransition_ConcurrentEndorseAndDecline_OnlyOneWins races the two
// answers a commission may give; the dossier ends in the winner's state.
func TestTransition_ConcurrentEndorseAndDecline_OnlyOneWins(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	app := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
	fr := e.Commission(t, "FR")
	var moves []func() (*engine.Application, error)
	for i := range 8 {
		m := engine.Move{Event: engine.EventEndorse}
		if i%2 == 1 {
			m = engine.Move{Event: engine.EventDecline, Note: "Another city was chosen."}
		}
		moves = append(moves, func() (*engine.Application, error) {
			return e.Service.Transition(context.Background(), fr, app.ID, m)
		})
	}

	results := fireTogether(moves)

	var winner *engine.Application
	for _, r := range results {
		if r.err == nil {
			if winner != nil {
				t.Fatalf("two moves succeeded: %s and %s", winner.State, r.app.State)
			}
			winner = r.app
		} else if engine.ErrorCode(r.err) != engine.EINVALIDTRANSITION {
			t.Errorf("a losing move got %v, want %s", r.err, engine.EINVALIDTRANSITION)
		}
	}
	if winner == nil {
		t.Fatal("no move succeeded")
	}
	got := e.MustGet(t, app.ID)
	if got.State != winner.State || got.Version != app.Version+1 {
		t.Fatalf("stored dossier is %s v%d, want the winner's %s v%d", got.State, got.Version, winner.State, app.Version+1)
	}
	events := e.MustHistory(t, app.ID)
	if last := events[len(events)-1]; last.To != winner.State || len(events) != 3 {
		t.Fatalf("history has %d events ending in %s, want 3 ending in %s", len(events), last.To, winner.State)
	}
}

// TestEndorse_ConcurrentEndorsementsInOneCountry_NeverExceedTheQuota checks
// that the quota holds when a commission endorses many dossiers at once: the
// count and the endorsement are one transaction.
func TestEndorse_ConcurrentEndorsementsInOneCountry_NeverExceedTheQuota(t *testing.T) {
	for _, tc := range []struct {
		name     string
		max      int
		distinct bool
		fields   []string
		want     int
	}{
		{"SameField_DistinctFields", 2, true, []string{Film, Film, Film, Film, Film, Film}, 1},
		{"ManyFields_MaxTwo", 2, false, []string{Film, Music, Gastronomy, Film, Music, Gastronomy}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := MustOpenService(t)
			c := NewCall(CallID, e.Clock.Now())
			c.MaxPerCountry, c.DistinctFields = tc.max, tc.distinct
			call := e.MustCreateCall(t, c)
			fr := e.Commission(t, "FR")
			var moves []func() (*engine.Application, error)
			for i, field := range tc.fields {
				app := e.MustReach(t, call, e.City(t, []string{"Cannes", "Rouen", "Saint-Étienne", "Enghien-les-Bains", "Limoges", "Angoulême"}[i], "FR"), field, engine.Submitted)
				moves = append(moves, func() (*engine.Application, error) {
					return e.Service.Transition(context.Background(), fr, app.ID, engine.Move{Event: engine.EventEndorse})
				})
			}

			results := fireTogether(moves)

			won := 0
			for _, r := range results {
				switch engine.ErrorCode(r.err) {
				case "":
					won++
				case engine.EQUOTAEXCEEDED:
				default:
					t.Errorf("endorsement got %v, want success or %s", r.err, engine.EQUOTAEXCEEDED)
				}
			}
			endorsed := e.MustList(t, fr, engine.Query{Call: call.ID, State: engine.Endorsed})
			if won != tc.want || len(endorsed) != tc.want {
				t.Fatalf("%d endorsements succeeded and %d dossiers are endorsed, want %d", won, len(endorsed), tc.want)
			}
		})
	}
}
