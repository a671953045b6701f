package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

func TestLogin_WrongPasswordOrUnknownEmail_IsRefusedAlike(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	cannes := e.MustUser(t, engine.RoleApplicant, "FR", "Cannes")

	_, _, wrongPassword := e.Service.Login(ctx, cannes.Email, "not the password")
	_, _, unknownEmail := e.Service.Login(ctx, "nobody@example.org", Password)

	AssertCode(t, wrongPassword, engine.EUNAUTHORIZED)
	AssertCode(t, unknownEmail, engine.EUNAUTHORIZED)
	if a, b := engine.ErrorMessage(wrongPassword), engine.ErrorMessage(unknownEmail); a != b {
		t.Fatalf("messages differ (%q, %q): they tell which e-mails have accounts", a, b)
	}
}

func TestAuthenticate_SessionEndsAfterItsTTL(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	cannes := e.MustUser(t, engine.RoleApplicant, "FR", "Cannes")
	token, _, err := e.Service.Login(ctx, " "+strings.ToUpper(cannes.Email)+" ", Password)
	if err != nil {
		t.Fatalf("sign in with the e-mail in capitals and spaces: %v", err)
	}

	e.MoveClockTo(t, Start.Add(e.Service.SessionTTL-time.Nanosecond))
	if actor, err := e.Service.Authenticate(ctx, token); err != nil || actor != engine.ActorOf(cannes) {
		t.Fatalf("just before the end of the session: %+v, %v; want %+v", actor, err, engine.ActorOf(cannes))
	}

	e.MoveClockTo(t, Start.Add(e.Service.SessionTTL))
	_, err = e.Service.Authenticate(ctx, token)
	AssertCode(t, err, engine.EUNAUTHORIZED)
}
