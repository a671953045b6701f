package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"designate/engine"
)

// testStart is the clock's start in every end-to-end test: a fixed instant,
// so deadlines relative to it never drift across midnight.
var testStart = time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC)

// TestMain is the real program started in-process on 127.0.0.1:0, with a
// real bbolt file in a temporary directory and a clock the test moves.
type TestMain struct {
	*Main
	Clock *engine.ManualClock
	Out   *bytes.Buffer
	tb    testing.TB
}

// MustRunMain starts the program with the repository's config.yaml, demo
// included unless demo is false, and stops it when the test ends.
func MustRunMain(tb testing.TB, demo bool) *TestMain {
	tb.Helper()
	return MustRunMainConfig(tb, ConfigForTest(tb, tb.TempDir(), demo), engine.NewManualClock(testStart))
}

// MustRunMainConfig starts the program with cfg and clock.
func MustRunMainConfig(tb testing.TB, cfg Config, clock *engine.ManualClock) *TestMain {
	tb.Helper()
	m := NewMain()
	out := &bytes.Buffer{}
	m.Config, m.Clock, m.Out = cfg, clock, out
	m.PasswordCost = 4 // bcrypt.MinCost: accounts made by tests stay fast
	if err := m.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tm := &TestMain{Main: m, Clock: clock, Out: out, tb: tb}
	tb.Cleanup(func() {
		// The program running now: Restart replaces tm.Main. Close is
		// idempotent, so a program already stopped is fine.
		if err := tm.Main.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return tm
}

// Restart stops the program and starts it again on the same data directory
// and clock, as an operator restarting the server would.
func (tm *TestMain) Restart() *TestMain {
	tm.tb.Helper()
	if err := tm.Main.Close(); err != nil {
		tm.tb.Fatal(err)
	}
	cfg := tm.Main.Config
	m := NewMain()
	m.Config, m.Clock, m.Out = cfg, tm.Clock, tm.Out
	m.PasswordCost = 4
	if err := m.Run(context.Background()); err != nil {
		tm.tb.Fatal(err)
	}
	tm.Main = m
	return tm
}

// Do sends a JSON request with an optional bearer token and decodes the
// answer into out (when not nil). It returns the status.
func (tm *TestMain) Do(method, path, token string, body, out any) int {
	tm.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tm.tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, tm.URL()+path, rd)
	if err != nil {
		tm.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tm.tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tm.tb.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			tm.tb.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// APIError is the error body every refusal has.
type APIError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// MustUser makes an account and signs it in, returning its token.
func (tm *TestMain) MustUser(email string, role engine.Role, country, city string) string {
	tm.tb.Helper()
	return tm.MustAccount(engine.NewUser{Email: email, Role: role, Country: country, City: city})
}

// MustAccount makes the account (its password is set here) and signs it in.
func (tm *TestMain) MustAccount(u engine.NewUser) string {
	tm.tb.Helper()
	email := u.Email
	u.Password = "correct horse battery"
	_, err := tm.Service.CreateUser(context.Background(), engine.System, u)
	if err != nil {
		tm.tb.Fatal(err)
	}
	var res struct{ Token string }
	if st := tm.Do("POST", "/api/v1/login", "", map[string]string{"email": email, "password": "correct horse battery"}, &res); st != 200 {
		tm.tb.Fatalf("login %s: status %d", email, st)
	}
	return res.Token
}

// Advance moves the clock to t and makes the due moves, as the scheduler
// does within a second of each instant.
func (tm *TestMain) Advance(t time.Time) {
	tm.tb.Helper()
	tm.Clock.Set(t)
	if err := tm.Service.Advance(context.Background()); err != nil {
		tm.tb.Fatal(err)
	}
}

func repoRoot(tb testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
