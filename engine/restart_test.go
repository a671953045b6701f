package engine_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"designate/engine"
)

// Records is everything the engine keeps, as the secretariat, the admin and
// the system read it.
func (e *Env) Records(tb testing.TB) string {
	tb.Helper()
	users, err := e.Service.Users(context.Background(), e.Admin(tb))
	if err != nil {
		tb.Fatalf("list accounts: %v", err)
	}
	raw, err := json.Marshal(users)
	if err != nil {
		tb.Fatal(err)
	}
	return e.Snapshot(tb) + "\naccounts: " + string(raw)
}

func TestRestart_KeepsEverything(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	later := NewCall("creative-cities-2029", e.Clock.Now())
	later.OpensAt = e.Clock.Now().Add(24 * time.Hour)
	e.MustCreateCall(t, later)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Endorsed)
	covilha := e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.NotEndorsed)
	huaian := e.MustReach(t, call, e.City(t, "Huai'an", "CN"), Gastronomy, engine.Draft)
	huaianUser := e.MustUser(t, engine.RoleApplicant, "CN", "Huai'an")
	token, _, err := e.Service.Login(ctx, huaianUser.Email, Password, "192.0.2.1")
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	before := e.Records(t)
	if n := len(e.MustList(t, engine.System, engine.Query{})); n != 3 {
		t.Fatalf("%d dossiers before the restart, want 3", n)
	}

	e.Reopen(t)

	if after := e.Records(t); after != before {
		t.Fatalf("records changed across the restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Endorsed, covilha: engine.NotEndorsed, huaian: engine.Draft})
	e.AssertCallState(t, later.ID, engine.CallPlanned)
	if n := len(e.MustHistory(t, cannes.ID)); n != 3 {
		t.Errorf("Cannes's history has %d events after the restart, want 3 (create, submit, endorse)", n)
	}
	t.Run("SessionStillSignsIn", func(t *testing.T) {
		actor, err := e.Service.Authenticate(ctx, token)
		if err != nil {
			t.Fatalf("authenticate after restart: %v", err)
		}
		if actor != engine.ActorOf(huaianUser) {
			t.Fatalf("token signs in %+v, want %+v", actor, engine.ActorOf(huaianUser))
		}
		// The city goes on where it left off.
		saved := e.MustSaveAs(t, actor, huaian.ID, CompleteDraft(huaian.Version))
		if saved.Version != huaian.Version+1 {
			t.Fatalf("saved v%d, want v%d", saved.Version, huaian.Version+1)
		}
	})
	t.Run("PasswordStillSignsIn", func(t *testing.T) {
		if _, u, err := e.Service.Login(ctx, huaianUser.Email, Password, "192.0.2.1"); err != nil || u.ID != huaianUser.ID {
			t.Fatalf("sign in after restart: %v", err)
		}
		_, _, err := e.Service.Login(ctx, huaianUser.Email, "not the password", "192.0.2.1")
		AssertCode(t, err, engine.EUNAUTHORIZED)
	})
	t.Run("SignedOutTokenNoLongerSignsIn", func(t *testing.T) {
		if err := e.Service.Logout(ctx, engine.ActorOf(huaianUser), token, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		e.Reopen(t)
		_, err := e.Service.Authenticate(ctx, token)
		AssertCode(t, err, engine.EUNAUTHORIZED)
	})
}

// TestRestart_ClockPassedWhileDown_FirstPassCatchesUp is a server stopped
// before the close and started again after it.
func TestRestart_ClockPassedWhileDown_FirstPassCatchesUp(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft)
	e.Reopen(t)
	e.MoveClockTo(t, call.Close().Add(72*time.Hour))

	e.MustAdvance(t)

	e.AssertCallState(t, call.ID, engine.CallClosed)
	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Lapsed})
}
