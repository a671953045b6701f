package engine_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"designate/engine"
)

// BisCallID is a second call whose id starts with the first's.
const BisCallID = CallID + "-bis"

// roomyCall is the standard call with a quota that never gets in the way, so
// that a test may endorse as many dossiers as it likes.
func roomyCall(id string) engine.Call {
	c := NewCall(id, Start)
	c.MaxPerCountry, c.DistinctFields = 1000, false
	return c
}

// cells is a board as a test writes it: "state/field" → count, without
// the empty cells.
type cells map[string]int

func cellOf(state engine.State, field string) string { return string(state) + "/" + field }

func splitCell(k string) (engine.State, string) {
	state, field, _ := strings.Cut(k, "/")
	return engine.State(state), field
}

// apply moves counts: a count of 0 removes the cell.
func (c cells) apply(changes cells) {
	for k, n := range changes {
		if n == 0 {
			delete(c, k)
		} else {
			c[k] = n
		}
	}
}

func (c cells) String() string {
	keys := slices.Sorted(maps.Keys(c))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, c[k])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// MustBoard reads the call's board as the actor.
func (e *Env) MustBoard(tb testing.TB, actor engine.Actor, callID string) *engine.Board {
	tb.Helper()
	b, err := e.Service.Board(context.Background(), actor, callID)
	if err != nil {
		tb.Fatalf("board of %s as %s: %v", callID, actor.Role, err)
	}
	return b
}

// AssertBoard reads the call's board as the secretariat and fails unless it
// shows exactly the cells, with every total, the states and the fields as
// the secretariat reads them.
func (e *Env) AssertBoard(tb testing.TB, call *engine.Call, want cells) *engine.Board {
	tb.Helper()
	b := e.MustBoard(tb, e.Secretariat(tb), call.ID)
	checkBoard(tb, call, b, want)
	return b
}

func checkBoard(tb testing.TB, call *engine.Call, b *engine.Board, want cells) {
	tb.Helper()
	if b.Call != call.ID {
		tb.Errorf("board is of call %q, want %q", b.Call, call.ID)
	}
	got := cells{}
	for _, c := range b.Counts {
		k := cellOf(c.State, c.Field)
		if _, dup := got[k]; dup {
			tb.Errorf("board lists %s twice", k)
		}
		if c.N <= 0 {
			tb.Errorf("board lists %s with %d dossiers: empty cells are left out", k, c.N)
		}
		got[k] = c.N
	}
	if !maps.Equal(got, want) {
		tb.Fatalf("board counts =\n  %v\nwant\n  %v", got, want)
	}
	total, byState, byField := 0, map[engine.State]int{}, map[string]int{}
	for k, n := range want {
		state, field := splitCell(k)
		if b.N(state, field) != n {
			tb.Errorf("board.N(%s, %s) = %d, want %d", state, field, b.N(state, field), n)
		}
		total += n
		byState[state] += n
		byField[field] += n
	}
	if b.Total != total {
		tb.Errorf("board total = %d, want %d", b.Total, total)
	}
	var states []engine.State
	for _, st := range engine.States {
		if b.StateTotal(st) != byState[st] {
			tb.Errorf("board.StateTotal(%s) = %d, want %d", st, b.StateTotal(st), byState[st])
		}
		if byState[st] > 0 {
			states = append(states, st)
		}
		for _, f := range call.Fields {
			if _, in := want[cellOf(st, f)]; !in && b.N(st, f) != 0 {
				tb.Errorf("board.N(%s, %s) = %d, want 0", st, f, b.N(st, f))
			}
		}
	}
	if !slices.Equal(b.States, states) {
		tb.Errorf("board states = %v, want %v (those with dossiers, in lifecycle order)", b.States, states)
	}
	for _, f := range call.Fields {
		if b.FieldTotal(f) != byField[f] {
			tb.Errorf("board.FieldTotal(%s) = %d, want %d", f, b.FieldTotal(f), byField[f])
		}
	}
	if !slices.Equal(b.Fields, call.Fields) {
		tb.Errorf("board fields = %v, want the call's %v", b.Fields, call.Fields)
	}
	order := func(s engine.State) int { return slices.Index(engine.States, s) }
	if !sort.SliceIsSorted(b.Counts, func(i, j int) bool {
		if b.Counts[i].State != b.Counts[j].State {
			return order(b.Counts[i].State) < order(b.Counts[j].State)
		}
		return b.Counts[i].Field < b.Counts[j].Field
	}) {
		tb.Errorf("board counts %+v are not in lifecycle order, then by field", b.Counts)
	}
}

// CrossCheckBoard fails unless every cell of the board (every state, every
// field) is as many dossiers as the secretariat's list gives with the same
// call, state and field filters, and the total is the call's whole list.
func (e *Env) CrossCheckBoard(tb testing.TB, b *engine.Board) {
	tb.Helper()
	staff := e.Secretariat(tb)
	for _, st := range engine.States {
		for _, f := range b.Fields {
			listed := e.searchPages(tb, staff, engine.Query{Call: b.Call, State: st, Field: f, Limit: 2})
			if len(listed) != b.N(st, f) {
				tb.Errorf("board shows %d dossiers %s in %s; the secretariat's list has %d: %v",
					b.N(st, f), st, f, len(listed), cityNames(listed))
			}
		}
	}
	if all := e.searchPages(tb, staff, engine.Query{Call: b.Call, Limit: 3}); len(all) != b.Total {
		tb.Errorf("board total is %d; the secretariat lists %d dossiers in %s", b.Total, len(all), b.Call)
	}
}

// recount counts the call's dossiers as the secretariat lists them.
func (e *Env) recount(tb testing.TB, callID string) cells {
	tb.Helper()
	got := cells{}
	for _, a := range e.searchPages(tb, e.Secretariat(tb), engine.Query{Call: callID, Limit: 7}) {
		got[cellOf(a.State, a.Field)]++
	}
	return got
}

// TestBoard_CountsTheCallsDossiers builds dossiers in many states and
// fields, then moves them on one by one, checking after each move that the
// board shows what the dossiers are: drafts never submitted are not
// counted, a retracted draft is, and each move takes one dossier from its
// cell to another. Every cell is checked against the secretariat's list.
func TestBoard_CountsTheCallsDossiers(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustCreateCall(t, roomyCall(CallID))
	bis := e.MustCreateCall(t, roomyCall(BisCallID))
	board := e.AssertBoard(t, call, cells{})
	e.CrossCheckBoard(t, board)

	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft) // never submitted
	e.MustReach(t, call, e.City(t, "Angoulême", "FR"), Gastronomy, engine.Draft)  // never submitted
	rouen := e.MustReach(t, call, e.City(t, "Rouen", "FR"), Gastronomy, engine.Submitted)
	etienne := e.MustReach(t, call, e.City(t, "Saint-Étienne", "FR"), Music, engine.Submitted)
	etienne = e.MustMove(t, e.City(t, "Saint-Étienne", "FR"), etienne.ID, engine.EventRetract, "")
	e.MustReach(t, call, e.City(t, "Limoges", "FR"), Music, engine.Withdrawn) // withdrawn from draft
	covilha := e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Endorsed)
	e.MustReach(t, call, e.City(t, "Perth", "GB"), Film, engine.NotEndorsed)
	perth := e.MustReach(t, call, e.City(t, "Perth", "AU"), Film, engine.Submitted)
	e.MustMove(t, e.City(t, "Perth", "AU"), perth.ID, engine.EventWithdraw, "")
	huaian := e.MustReach(t, call, e.City(t, "Huai'an", "CN"), Gastronomy, engine.Endorsed)
	gdynia := e.MustReach(t, call, e.City(t, "Gdynia", "PL"), Film, engine.Submitted)
	namur := e.MustReach(t, call, e.City(t, "Namur", "BE"), Gastronomy, engine.Submitted)
	e.MustMove(t, e.City(t, "Namur", "BE"), namur.ID, engine.EventRetract, "")
	// The other call, whose id begins with this one's.
	e.MustReach(t, bis, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
	e.MustReach(t, bis, e.City(t, "Rouen", "FR"), Music, engine.Endorsed)
	bisWant := cells{"submitted/Film": 1, "endorsed/Music": 1}

	want := cells{
		"draft/Music":          1, // Saint-Étienne, retracted
		"draft/Gastronomy":     1, // Namur, retracted
		"submitted/Gastronomy": 1, // Rouen
		"submitted/Film":       1, // Gdynia
		"endorsed/Music":       1, // Covilhã
		"endorsed/Gastronomy":  1, // Huai'an
		"not_endorsed/Film":    1, // Perth GB
		"withdrawn/Film":       1, // Perth AU, after its submission
	}
	check := func(t *testing.T) {
		t.Helper()
		b := e.AssertBoard(t, call, want)
		e.CrossCheckBoard(t, b)
		if admin := e.MustBoard(t, e.Admin(t), call.ID); !reflect.DeepEqual(admin, b) {
			t.Errorf("the admin's board %+v differs from the secretariat's %+v", admin, b)
		}
		e.CrossCheckBoard(t, e.AssertBoard(t, bis, bisWant))
	}
	t.Run("AsBuilt", check)

	steps := []struct {
		name    string
		move    func(t *testing.T)
		changes cells
	}{
		{"Endorse_MovesSubmittedToEndorsed", func(t *testing.T) {
			e.MustMove(t, e.Commission(t, "FR"), rouen.ID, engine.EventEndorse, "")
		}, cells{"submitted/Gastronomy": 0, "endorsed/Gastronomy": 2}},
		{"Decline_MovesSubmittedToNotEndorsed", func(t *testing.T) {
			e.MustMove(t, e.Commission(t, "PL"), gdynia.ID, engine.EventDecline, "Another city was chosen.")
		}, cells{"submitted/Film": 0, "not_endorsed/Film": 2}},
		{"Withdraw_MovesEndorsedToWithdrawn", func(t *testing.T) {
			e.MustMove(t, e.City(t, "Covilhã", "PT"), covilha.ID, engine.EventWithdraw, "")
		}, cells{"endorsed/Music": 0, "withdrawn/Music": 1}},
		{"RetractedDraftChangesField_MovesItsCount", func(t *testing.T) {
			edit := CompleteDraft(etienne.Version)
			edit.Field = Film
			etienne = e.MustSaveAs(t, e.City(t, "Saint-Étienne", "FR"), etienne.ID, edit)
		}, cells{"draft/Music": 0, "draft/Film": 1}},
		{"Resubmit_MovesDraftToSubmitted", func(t *testing.T) {
			e.MustMove(t, e.City(t, "Saint-Étienne", "FR"), etienne.ID, engine.EventSubmit, "")
		}, cells{"draft/Film": 0, "submitted/Film": 1}},
		{"FirstSubmission_IsCounted", func(t *testing.T) {
			e.MustMove(t, e.City(t, "Cannes", "FR"), cannes.ID, engine.EventSubmit, "")
		}, cells{"submitted/Film": 2}},
		{"AfterClose_RetractedDraftLapsesCounted_NeverSubmittedLapsesUncounted", func(t *testing.T) {
			AfterClose(t, e, call)
		}, cells{"draft/Gastronomy": 0, "lapsed/Gastronomy": 1}},
		{"Accept_MovesEndorsedToEligible", func(t *testing.T) {
			e.MustMove(t, e.Secretariat(t), huaian.ID, engine.EventAccept, "")
		}, cells{"endorsed/Gastronomy": 1, "eligible/Gastronomy": 1}},
		{"PastEndorsementDeadline_SubmittedLapse", func(t *testing.T) {
			PastEndorsementUnswept(t, e, call)
			e.MustAdvance(t)
			// The other call's submitted dossier lapses too.
			bisWant.apply(cells{"submitted/Film": 0, "lapsed/Film": 1})
		}, cells{"submitted/Film": 0, "lapsed/Film": 2}},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) {
			s.move(t)
			want.apply(s.changes)
			check(t)
		}) {
			t.FailNow() // each step starts from the one before
		}
	}
}

// TestBoard_SurvivesARestart checks the board reads the same after the
// server restarts, and keeps counting the moves made after it.
func TestBoard_SurvivesARestart(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustCreateCall(t, roomyCall(CallID))
	e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft)
	rouen := e.MustReach(t, call, e.City(t, "Rouen", "FR"), Gastronomy, engine.Submitted)
	e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Endorsed)
	e.MustReach(t, call, e.City(t, "Perth", "GB"), Film, engine.NotEndorsed)
	want := cells{"submitted/Gastronomy": 1, "endorsed/Music": 1, "not_endorsed/Film": 1}
	before := e.AssertBoard(t, call, want)

	e.Reopen(t)

	after := e.AssertBoard(t, call, want)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("board after the restart = %+v, want it as before: %+v", after, before)
	}
	e.CrossCheckBoard(t, after)
	e.MustMove(t, e.Commission(t, "FR"), rouen.ID, engine.EventEndorse, "")
	want.apply(cells{"submitted/Gastronomy": 0, "endorsed/Gastronomy": 1})
	e.CrossCheckBoard(t, e.AssertBoard(t, call, want))
	e.Reopen(t)
	e.AssertBoard(t, call, want)
}

// TestBoard_Access checks that only the secretariat and the admin see a
// board, that the public is asked to sign in, and that an unknown call is
// not found.
func TestBoard_Access(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
	evaluator := engine.ActorOf(e.MustUser(t, engine.RoleEvaluator, "DE", ""))
	for _, tc := range []struct {
		name  string
		actor engine.Actor
		call  string
		code  string
	}{
		{"Applicant_OwnCall_IsForbidden", e.City(t, "Cannes", "FR"), call.ID, engine.EFORBIDDEN},
		{"Applicant_UnknownCall_IsForbidden", e.City(t, "Cannes", "FR"), "creative-cities-1999", engine.EFORBIDDEN},
		{"Commission_OfTheDossiersCountry_IsForbidden", e.Commission(t, "FR"), call.ID, engine.EFORBIDDEN},
		{"Evaluator_IsForbidden", evaluator, call.ID, engine.EFORBIDDEN},
		{"Public_IsUnauthorized", engine.Actor{}, call.ID, engine.EUNAUTHORIZED},
		{"Public_UnknownCall_IsUnauthorized", engine.Actor{}, "creative-cities-1999", engine.EUNAUTHORIZED},
		{"Secretariat_UnknownCall_IsNotFound", e.Secretariat(t), "creative-cities-1999", engine.ENOTFOUND},
		{"Secretariat_CallIDPrefix_IsNotFound", e.Secretariat(t), "creative-cities", engine.ENOTFOUND},
		{"Secretariat_NotACallID_IsNotFound", e.Secretariat(t), "../creative-cities-2027", engine.ENOTFOUND},
		{"Secretariat_EmptyCallID_IsNotFound", e.Secretariat(t), "", engine.ENOTFOUND},
		{"Admin_UnknownCall_IsNotFound", e.Admin(t), "creative-cities-1999", engine.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := e.Service.Board(context.Background(), tc.actor, tc.call)
			AssertCode(t, err, tc.code)
			if b != nil {
				t.Fatalf("a refused board came with counts: %+v", b)
			}
		})
	}
	t.Run("SecretariatAndAdmin_SeeIt", func(t *testing.T) {
		for _, staff := range []engine.Actor{e.Secretariat(t), e.Admin(t)} {
			b := e.MustBoard(t, staff, call.ID)
			checkBoard(t, call, b, cells{"submitted/Film": 1})
		}
		e.AssertUnchanged(t, cannes)
	})
	t.Run("CallWithoutDossiers_IsAnEmptyBoard", func(t *testing.T) {
		other := e.MustCreateCall(t, NewCall("creative-cities-2029", e.Clock.Now()))
		b := e.AssertBoard(t, other, cells{})
		if b.Total != 0 || len(b.States) != 0 || len(b.Counts) != 0 {
			t.Fatalf("board of a call without dossiers = %+v, want nothing counted", b)
		}
	})
}

// TestBoard_ConcurrentMoves_MatchARecount moves 32 dossiers at once, each
// by its own party, while the secretariat reads the board, then checks the
// board against what each move made and against a recount of the list.
// Every board read meanwhile must count all 32 dossiers: a move takes one
// from a cell and adds it to another in one transaction.
func TestBoard_ConcurrentMoves_MatchARecount(t *testing.T) {
	const n = 32
	e := MustOpenService(t)
	call := e.MustCreateCall(t, roomyCall(CallID))
	countries := []string{"FR", "PT", "CN", "AU"}
	fields := []string{Music, Film, Gastronomy}
	var accounts []engine.NewUser
	for i := range n {
		accounts = append(accounts, engine.NewUser{Role: engine.RoleApplicant, City: fmt.Sprintf("Town %d", i+1), Country: countries[i%len(countries)]})
	}
	for _, c := range countries {
		accounts = append(accounts, engine.NewUser{Role: engine.RoleCommission, Country: c})
	}
	made := e.MustAccounts(t, accounts)
	cities, commissions := made[:n], map[string]engine.Actor{}
	for _, c := range made[n:] {
		commissions[c.Country] = c
	}
	staff := e.Secretariat(t)

	want := cells{}
	var moves []func() (*engine.Application, error)
	var wantStates []engine.State
	for i, city := range cities {
		field := fields[i%len(fields)]
		app := e.MustReach(t, call, city, field, engine.Submitted)
		by, m, to := city, engine.Move{}, engine.State("")
		switch i % 4 {
		case 0:
			by, m, to = commissions[city.Country], engine.Move{Event: engine.EventEndorse}, engine.Endorsed
		case 1:
			by, m, to = commissions[city.Country], engine.Move{Event: engine.EventDecline, Note: "Another city was chosen."}, engine.NotEndorsed
		case 2:
			m, to = engine.Move{Event: engine.EventRetract}, engine.Draft
		case 3:
			m, to = engine.Move{Event: engine.EventWithdraw}, engine.Withdrawn
		}
		want[cellOf(to, field)]++
		wantStates = append(wantStates, to)
		moves = append(moves, func() (*engine.Application, error) {
			return e.Service.Transition(context.Background(), by, app.ID, m)
		})
	}
	e.AssertBoard(t, call, cells{"submitted/Music": 11, "submitted/Film": 11, "submitted/Gastronomy": 10})

	// Readers read the board until every move is made.
	done := make(chan struct{})
	readErrs := make(chan error, 4)
	reads := make([]int, 4)
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				b, err := e.Service.Board(context.Background(), staff, call.ID)
				if err != nil {
					readErrs <- fmt.Errorf("board read during the moves: %w", err)
					return
				}
				reads[r]++
				if b.Total != n {
					readErrs <- fmt.Errorf("a board read during the moves counts %d dossiers, want %d: %+v", b.Total, n, b.Counts)
					return
				}
				select {
				case <-done:
					return
				default:
				}
			}
		}()
	}
	results := fireTogether(moves)
	close(done)
	readers.Wait()
	close(readErrs)
	for err := range readErrs {
		t.Error(err)
	}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("move %d of Town %d: %v", i, i+1, r.err)
		} else if r.app.State != wantStates[i] {
			t.Errorf("Town %d's dossier is %s, want %s", i+1, r.app.State, wantStates[i])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("board read %v times during the moves", reads)

	b := e.AssertBoard(t, call, want)
	if got := e.recount(t, call.ID); !maps.Equal(got, want) {
		t.Fatalf("a recount of the secretariat's list = %v, want %v", got, want)
	}
	e.CrossCheckBoard(t, b)
}
