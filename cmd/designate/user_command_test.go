package main

import (
	"context"
	"strings"
	"testing"

	"designate/engine"
)

// The admin's command-line account management, as an operator uses it with
// the server stopped, checked by signing in to the server started after.
func TestUserCommands_AddRoleDisableList(t *testing.T) {
	data := t.TempDir()
	cmd := func(args ...string) (string, error) {
		t.Helper()
		var out, errOut strings.Builder
		err := run(context.Background(), append(args, "--data", data), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := cmd("user", "add", "--email", "Ada@Example.org", "--password", "correct horse battery", "--role", "commission", "--country", "FR"); err != nil || !strings.Contains(out, "created commission account ada@example.org") {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if _, err := cmd("user", "add", "--email", "ada@example.org", "--password", "correct horse battery", "--role", "admin"); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("a second account with the same e-mail: %v", err)
	}
	if _, err := cmd("user", "add", "--email", "eve@example.org", "--password", "short", "--role", "evaluator"); err == nil ||
		!strings.Contains(err.Error(), "--password") || !strings.Contains(err.Error(), "--country") {
		t.Fatalf("a short password and an evaluator without country must both be named: %v", err)
	}
	if out, err := cmd("user", "role", "--email", "ada@example.org", "--role", "evaluator", "--country", "PT"); err != nil || !strings.Contains(out, "evaluator account") {
		t.Fatalf("user role: %v\n%s", err, out)
	}
	if _, err := cmd("user", "role", "--email", "nobody@example.org", "--role", "admin"); err == nil {
		t.Fatal("user role on an unknown e-mail succeeded")
	}

	cfg := ConfigForTest(t, data, false)
	tm := MustRunMainConfig(t, cfg, engine.NewManualClock(testStart))
	var me struct{ Role, Country string }
	token := tm.MustLogin("ada@example.org", "correct horse battery")
	tm.MustDo(200, "GET", "/api/v1/me", token, nil, &me)
	if me.Role != "evaluator" || me.Country != "PT" {
		t.Fatalf("after user role the account is %+v, want an evaluator of PT", me)
	}
	if _, err := cmd("user", "disable", "--email", "ada@example.org"); err == nil || !strings.Contains(err.Error(), "stop the server") {
		t.Fatalf("user disable while the server runs: %v, want a word about stopping the server", err)
	}
	tm.Stop()

	if out, err := cmd("user", "disable", "--email", "ada@example.org"); err != nil || !strings.Contains(out, "disabled true") {
		t.Fatalf("user disable: %v\n%s", err, out)
	}
	out, err := cmd("user", "list")
	if err != nil || !strings.Contains(out, "ada@example.org") || !strings.Contains(out, "true") {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	tm = MustRunMainConfig(t, cfg, engine.NewManualClock(testStart))
	tm.MustFail(401, "unauthorized", "POST", "/api/v1/login", "", map[string]string{"email": "ada@example.org", "password": "correct horse battery"})
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/me", token, nil)

}
