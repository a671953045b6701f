package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"designate/engine"
	"designate/store"
)

// demoPassword finds the password printed for email in the accounts table.
func demoPassword(t *testing.T, table, email string) string {
	t.Helper()
	header := -1
	for _, line := range strings.Split(table, "\n") {
		cols := strings.Fields(line)
		if i := slices.Index(cols, "PASSWORD"); i >= 0 {
			header = i
		}
		if header >= 0 && len(cols) > header && slices.Contains(cols, email) {
			return cols[header]
		}
	}
	t.Fatalf("no PASSWORD column with a row for %s in:\n%s", email, table)
	return ""
}

// The first start makes a working demo, prints its accounts and saves them;
// a restart keeps it and says where the passwords are.
func TestDemo_FirstStartPrintsWorkingAccounts_RestartKeepsThem(t *testing.T) {
	tm := MustRunMain(t, true)
	out := tm.Out.String()
	for _, want := range []string{"admin@example.org", "PASSWORD", "uccn-2027", demoAccountsFile} {
		if !strings.Contains(out, want) {
			t.Fatalf("first start's output lacks %q:\n%s", want, out)
		}
	}
	password := demoPassword(t, out, "rouen@example.org")
	saved := filepath.Join(tm.Config.Data, demoAccountsFile)
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if got := demoPassword(t, string(raw), "rouen@example.org"); got != password {
		t.Fatalf("%s has %q for Rouen, the terminal %q", saved, got, password)
	}
	if fi, err := os.Stat(saved); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v, want readable by the owner only", saved, err, fi.Mode())
	}

	var calls struct{ Items []Call }
	tm.MustDo(200, "GET", "/api/v1/calls", "", nil, &calls)
	if len(calls.Items) != 1 || calls.Items[0].ID != "uccn-2027" || calls.Items[0].State != "open" {
		t.Fatalf("demo calls %+v, want uccn-2027 open", calls.Items)
	}
	// Rouen's account sees its own submitted dossier, and nothing else.
	rouen := tm.MustLogin("rouen@example.org", password)
	var page Page
	tm.MustDo(200, "GET", "/api/v1/applications", rouen, nil, &page)
	if len(page.Items) != 1 || page.Items[0].City != "Rouen" || page.Items[0].State != "submitted" || page.Items[0].Call != "uccn-2027" {
		t.Fatalf("Rouen sees %+v, want its submitted dossier only", page.Items)
	}
	// Covilhã starts from a draft, Cannes from nothing, and Cannes can apply.
	covilha := tm.MustLogin("covilha@example.org", demoPassword(t, out, "covilha@example.org"))
	tm.MustDo(200, "GET", "/api/v1/applications", covilha, nil, &page)
	if len(page.Items) != 1 || page.Items[0].State != "draft" {
		t.Fatalf("Covilhã sees %+v, want its draft", page.Items)
	}
	cannes := tm.MustLogin("cannes@example.org", demoPassword(t, out, "cannes@example.org"))
	tm.MustDo(200, "GET", "/api/v1/applications", cannes, nil, &page)
	if len(page.Items) != 0 {
		t.Fatalf("Cannes sees %+v, want nothing yet", page.Items)
	}
	tm.MustDo(201, "POST", "/api/v1/calls/uccn-2027/applications", cannes,
		map[string]string{"city": "Cannes", "country": "FR", "field": "Film", "language": "fr"}, nil)
	// The French commission never sees more than two endorsed dossiers.
	fr := tm.MustLogin("commission-fr@example.org", demoPassword(t, out, "commission-fr@example.org"))
	if got := tm.listAll("state=endorsed", fr); len(got) > 2 {
		t.Fatalf("the demo endorsed %d French dossiers", len(got))
	}

	tm.Restart()
	again := strings.TrimPrefix(tm.Out.String(), out)
	if !strings.Contains(again, saved) || strings.Contains(again, "PASSWORD") {
		t.Fatalf("restart's output %q: want where the passwords are, and no new accounts", again)
	}
	tm.MustDo(200, "GET", "/api/v1/calls", "", nil, &calls)
	if len(calls.Items) != 1 {
		t.Fatalf("after a restart there are %d calls, want the one demo call", len(calls.Items))
	}
	rouen = tm.MustLogin("rouen@example.org", password)
	tm.MustDo(200, "GET", "/api/v1/applications", rouen, nil, &page)
	if len(page.Items) != 1 || page.Items[0].City != "Rouen" {
		t.Fatalf("Rouen after a restart sees %+v", page.Items)
	}
	if raw2, _ := os.ReadFile(saved); !bytes.Equal(raw2, raw) {
		t.Fatalf("a restart rewrote %s", saved)
	}
}

// runCommand runs `designate args...` as the terminal would.
func runCommand(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

// An operator adds an account with the server stopped, starts the server,
// signs in with it; backs up with the server stopped and gets a database
// with the same calls; is told to stop the server when it holds the file.
func TestCommands_UserAddThenServe_BackupOnlyWhenStopped(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // a fresh install: not there yet
	const email, password = "ops@example.org", "a long enough secret"

	out, _, err := runCommand("user", "add", "--data", dir, "--email", "Ops@Example.org", "--password", password, "--role", "secretariat")
	if err != nil || !strings.Contains(out, "secretariat") || !strings.Contains(out, email) {
		t.Fatalf("user add: %q, %v", out, err)
	}
	_, _, err = runCommand("user", "add", "--data", dir, "--email", "city@example.org", "--password", "short", "--role", "applicant", "--country", "FR")
	if err == nil || !strings.Contains(err.Error(), "--password") || !strings.Contains(err.Error(), "--city") {
		t.Fatalf("user add with a short password and no city: %v, want both named", err)
	}
	_, _, err = runCommand("user", "add", "--data", dir, "--email", email, "--password", password, "--role", "admin")
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("user add of a taken e-mail: %v", err)
	}

	tm := MustRunMainConfig(t, ConfigForTest(t, dir, false), engine.NewManualClock(testStart))
	tok := tm.MustLogin(email, password)
	for _, id := range []string{"alpha", "beta"} {
		tm.MustDo(201, "POST", "/api/v1/calls", tok, callBody(id), nil)
	}
	var calls struct{ Items []Call }
	tm.MustDo(200, "GET", "/api/v1/calls", "", nil, &calls)

	// While the server holds the database, the commands refuse and say why.
	backup := filepath.Join(t.TempDir(), "copy.tar")
	_, _, err = runCommand("backup", "--data", dir, "--out", backup)
	if err == nil || !strings.Contains(err.Error(), "server") {
		t.Fatalf("backup while serving: %v, want a refusal that mentions the server", err)
	}
	if _, err := os.Stat(backup); !os.IsNotExist(err) {
		t.Fatalf("a refused backup left %s: %v", backup, err)
	}
	_, _, err = runCommand("user", "add", "--data", dir, "--email", "late@example.org", "--password", password, "--role", "admin")
	if err == nil || !strings.Contains(err.Error(), "server") {
		t.Fatalf("user add while serving: %v, want a refusal that mentions the server", err)
	}

	tm.Stop()
	out, _, err = runCommand("backup", "--data", dir, "--out", backup)
	if err != nil || !strings.Contains(out, backup) {
		t.Fatalf("backup: %q, %v", out, err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if out, _, err := runCommand("restore", "--data", restored, "--from", backup); err != nil || !strings.Contains(out, "sound") {
		t.Fatalf("restore: %q, %v", out, err)
	}
	db, err := store.Open(dbFile(restored), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var copied []*engine.Call
	var ops *engine.User
	err = db.View(context.Background(), func(tx engine.ReadTx) (err error) {
		if copied, err = tx.Calls(); err != nil {
			return err
		}
		ops, err = tx.UserByEmail(email)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(copied) != len(calls.Items) {
		t.Fatalf("backup holds %d calls, the server had %d", len(copied), len(calls.Items))
	}
	for i, c := range copied {
		s := calls.Items[i]
		if c.ID != s.ID || c.Title != s.Title || string(c.State) != s.State || c.Version != s.Version {
			t.Errorf("backup's call %d is %s %q %s v%d, the server's %s %q %s v%d", i, c.ID, c.Title, c.State, c.Version, s.ID, s.Title, s.State, s.Version)
		}
	}
	if ops.Role != engine.RoleSecretariat {
		t.Errorf("backup's account %s has role %s", email, ops.Role)
	}

	// The server starts again on its data after the backup.
	tm.Restart()
	tm.MustLogin(email, password)
	_, _, err = runCommand("backup", "--data", dir)
	if err == nil || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("backup without --out: %v", err)
	}
}
