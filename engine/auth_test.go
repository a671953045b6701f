package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

const address = "192.0.2.10"

func TestLogin_WrongPasswordOrUnknownEmail_IsRefusedAlike(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	cannes := e.MustUser(t, engine.RoleApplicant, "FR", "Cannes")

	_, _, wrongPassword := e.Service.Login(ctx, cannes.Email, "not the password", address)
	_, _, unknownEmail := e.Service.Login(ctx, "nobody@example.org", Password, address)

	AssertCode(t, wrongPassword, engine.EUNAUTHORIZED)
	AssertCode(t, unknownEmail, engine.EUNAUTHORIZED)
	if a, b := engine.ErrorMessage(wrongPassword), engine.ErrorMessage(unknownEmail); a != b {
		t.Fatalf("messages differ (%q, %q): they tell which e-mails have accounts", a, b)
	}
}

func TestAuthenticate_SessionEndsAfterItsTTL_EvenWhenUsed(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	cannes := e.MustUser(t, engine.RoleApplicant, "FR", "Cannes")
	token, _, err := e.Service.Login(ctx, " "+strings.ToUpper(cannes.Email)+" ", Password, address)
	if err != nil {
		t.Fatalf("sign in with the e-mail in capitals and spaces: %v", err)
	}
	// Used every hour, the session lives until its TTL, not a moment more.
	for at := Start.Add(time.Hour); at.Before(Start.Add(e.Service.SessionTTL)); at = at.Add(time.Hour) {
		e.MoveClockTo(t, at)
		if actor, err := e.Service.Authenticate(ctx, token); err != nil || actor != engine.ActorOf(cannes) {
			t.Fatalf("at %s: %+v, %v; want %+v", at.Sub(Start), actor, err, engine.ActorOf(cannes))
		}
	}
	e.MoveClockTo(t, Start.Add(e.Service.SessionTTL))
	_, err = e.Service.Authenticate(ctx, token)
	AssertCode(t, err, engine.EUNAUTHORIZED)
}

func TestAuthenticate_IdleSession_Ends(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	cannes := e.MustUser(t, engine.RoleApplicant, "FR", "Cannes")
	token, _, err := e.Service.Login(ctx, cannes.Email, Password, address)
	if err != nil {
		t.Fatal(err)
	}
	e.MoveClockTo(t, Start.Add(e.Service.SessionIdle))
	if _, err := e.Service.Authenticate(ctx, token); err != nil {
		t.Fatalf("used right at the idle limit: %v", err)
	}
	e.MoveClockTo(t, Start.Add(2*e.Service.SessionIdle+time.Second))
	_, err = e.Service.Authenticate(ctx, token)
	AssertCode(t, err, engine.EUNAUTHORIZED)
}

func TestLogin_RepeatedFailures_AreSlowedThenRefused(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	cannes := e.MustUser(t, engine.RoleApplicant, "FR", "Cannes")

	// People mistype: the first failures cost nothing more.
	for i := 0; i < 3; i++ {
		_, _, err := e.Service.Login(ctx, cannes.Email, "wrong", address)
		AssertCode(t, err, engine.EUNAUTHORIZED)
	}
	// The next failure makes the account wait, and waits double.
	_, _, err := e.Service.Login(ctx, cannes.Email, "wrong", address)
	AssertCode(t, err, engine.EUNAUTHORIZED)
	_, _, err = e.Service.Login(ctx, cannes.Email, Password, address)
	AssertCode(t, err, engine.ETHROTTLED)
	if wait := engine.ErrorRetryAfter(err); wait != time.Second {
		t.Fatalf("retry after %s, want 1s", wait)
	}
	e.MoveClockTo(t, Start.Add(time.Second))
	_, _, err = e.Service.Login(ctx, cannes.Email, "wrong", address)
	AssertCode(t, err, engine.EUNAUTHORIZED)
	_, _, err = e.Service.Login(ctx, cannes.Email, Password, address)
	if wait := engine.ErrorRetryAfter(err); engine.ErrorCode(err) != engine.ETHROTTLED || wait != 2*time.Second {
		t.Fatalf("after a fifth failure: %v, retry after %s; want too_many_requests, 2s", err, wait)
	}
	// An unknown e-mail is throttled alike: the throttle tells nothing
	// about which accounts exist.
	for i := 0; i < 4; i++ {
		e.Service.Login(ctx, "nobody@example.org", "wrong", "198.51.100.7")
	}
	_, _, err = e.Service.Login(ctx, "nobody@example.org", "wrong", "198.51.100.7")
	AssertCode(t, err, engine.ETHROTTLED)

	// Once the wait is over the right password works, and clears the count.
	e.MoveClockTo(t, Start.Add(10*time.Second))
	if _, _, err := e.Service.Login(ctx, cannes.Email, Password, address); err != nil {
		t.Fatalf("right password after the wait: %v", err)
	}
	if _, _, err := e.Service.Login(ctx, cannes.Email, "wrong", address); engine.ErrorCode(err) != engine.EUNAUTHORIZED {
		t.Fatalf("a failure after a success: %v, want a plain unauthorized", err)
	}
}

func TestLogin_ManyAccountsFromOneAddress_IsThrottled(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	var err error
	// Twelve failures are allowed from an address (a city hall may share
	// one); the thirteenth makes it wait.
	for i := 0; i < 13; i++ {
		_, _, err = e.Service.Login(ctx, "guess"+strings.Repeat("x", i)+"@example.org", "wrong", "203.0.113.9")
		AssertCode(t, err, engine.EUNAUTHORIZED)
	}
	_, _, err = e.Service.Login(ctx, "someone-else@example.org", "wrong", "203.0.113.9")
	AssertCode(t, err, engine.ETHROTTLED)
	// Another address is not held back by that one.
	_, _, err = e.Service.Login(ctx, "guess@example.org", "wrong", "203.0.113.10")
	AssertCode(t, err, engine.EUNAUTHORIZED)
}

func TestSessions_EndOnPasswordChangeDisableAndRoleChange(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	admin := engine.System
	login := func(u *engine.User, password string) string {
		t.Helper()
		token, _, err := e.Service.Login(ctx, u.Email, password, address)
		if err != nil {
			t.Fatalf("sign in %s: %v", u.Email, err)
		}
		return token
	}
	ended := func(token, why string) {
		t.Helper()
		if _, err := e.Service.Authenticate(ctx, token); engine.ErrorCode(err) != engine.EUNAUTHORIZED {
			t.Fatalf("%s: the session still works (%v)", why, err)
		}
	}

	cannes := e.MustUser(t, engine.RoleApplicant, "FR", "Cannes")
	first, second := login(cannes, Password), login(cannes, Password)
	err := e.Service.ChangePassword(ctx, engine.ActorOf(cannes), "not the password", "a new password 1")
	AssertCode(t, err, engine.EUNAUTHORIZED)
	if err := e.Service.ChangePassword(ctx, engine.ActorOf(cannes), Password, "a new password 1"); err != nil {
		t.Fatal(err)
	}
	ended(first, "after a password change")
	ended(second, "after a password change, another session")
	if _, _, err := e.Service.Login(ctx, cannes.Email, Password, address); engine.ErrorCode(err) != engine.EUNAUTHORIZED {
		t.Fatalf("the old password still signs in: %v", err)
	}
	token := login(cannes, "a new password 1")

	disabled := true
	if _, err := e.Service.UpdateUser(ctx, admin, cannes.ID, engine.UserChange{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	ended(token, "after the account was disabled")
	_, _, err = e.Service.Login(ctx, cannes.Email, "a new password 1", address)
	AssertCode(t, err, engine.EUNAUTHORIZED)

	rouen := e.MustUser(t, engine.RoleCommission, "FR", "")
	token = login(rouen, Password)
	role := engine.RoleEvaluator
	if _, err := e.Service.UpdateUser(ctx, admin, rouen.ID, engine.UserChange{Role: &role}); err != nil {
		t.Fatal(err)
	}
	ended(token, "after a change of role")

	// Only the admin manages accounts.
	_, err = e.Service.UpdateUser(ctx, engine.ActorOf(rouen), cannes.ID, engine.UserChange{Disabled: new(bool)})
	AssertCode(t, err, engine.EFORBIDDEN)
}
