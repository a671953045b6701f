package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The audit log as the admin reads it: sign-ins, failed sign-ins, sign-outs
// and refused requests, each with who, what and from where, newest first,
// page by page, and still there after a restart.

// auditPage is one page of GET /api/v1/audit.
type auditPage struct {
	Items      []engine.AuditEvent `json:"items"`
	NextCursor string              `json:"next_cursor"`
}

// readAudit follows next_cursor from the newest event to the oldest, limit
// events a page, and checks the pages are in order and do not overlap.
func readAudit(t *testing.T, tm *TestMain, admin string, limit int) []engine.AuditEvent {
	t.Helper()
	var all []engine.AuditEvent
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the audit log has no last page")
		}
		path := fmt.Sprintf("/api/v1/audit?limit=%d", limit)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var p auditPage
		tm.MustDo(200, "GET", path, admin, nil, &p)
		if len(p.Items) > limit {
			t.Fatalf("a page of %d events, limit %d", len(p.Items), limit)
		}
		if p.NextCursor != "" && len(p.Items) != limit {
			t.Fatalf("a page of %d events (limit %d) with a next page", len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID || all[i].At.After(all[i-1].At) {
			t.Fatalf("audit events %d and %d out of order (want newest first): %+v, %+v", i-1, i, all[i-1], all[i])
		}
	}
	return all
}

// wantAudit is an event the log must hold; empty fields are not checked
// unless listed in empty.
type wantAudit struct {
	engine.AuditEvent
	empty []string
}

func (w wantAudit) matches(ev engine.AuditEvent) bool {
	got, want := reflect.ValueOf(ev), reflect.ValueOf(w.AuditEvent)
	for i := range want.NumField() {
		name := want.Type().Field(i).Name
		if name == "ID" || name == "At" {
			continue
		}
		if want.Field(i).IsZero() {
			for _, e := range w.empty {
				if e == name && !got.Field(i).IsZero() {
					return false
				}
			}
			continue
		}
		if !got.Field(i).Equal(want.Field(i)) {
			return false
		}
	}
	return true
}

func TestAudit_RecordsWhoWasTurnedAwayFromWhat(t *testing.T) {
	tm := MustRunMain(t, false)
	step := func() { tm.Clock.Set(tm.Clock.Now().Add(time.Second)) }
	admin := tm.MustUser("admin@example.org", engine.RoleAdmin, "", "")
	step()
	tm.MustDo(201, "POST", "/api/v1/calls", admin, callBody("audited"), nil)
	step()
	tours := tm.newCity("Tours", "FR", "Film") // a sign-in
	step()
	MustAPIError(t, loginAttempt(t, tm, tours.Email, "not my password"), 401, "unauthorized")
	step()
	tm.MustFail(403, "forbidden", "POST", "/api/v1/calls", tours.Token, callBody("mine"))
	step()
	tm.MustFail(404, "not_found", "GET", "/api/v1/applications/0000000000000000", tours.Token, nil)
	step()
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/applications", "", nil)
	step()
	tm.MustDo(204, "POST", "/api/v1/logout", tours.Token, nil, nil)
	step()
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/me", tours.Token, nil) // the ended session
	step()
	tm.MustFail(400, "invalid", "POST", "/api/v1/login", "", `{"email": "admin@example.org"`)

	ev := func(action, actor string, role engine.Role, method, path string, status int, code string) engine.AuditEvent {
		return engine.AuditEvent{Action: action, Actor: actor, Role: role, Method: method, Path: path, Status: status, Code: code, Address: "127.0.0.1"}
	}
	// Oldest first. Sign-ins, their failures and sign-outs are recorded by
	// the engine, which knows nothing of HTTP: they carry no method, path
	// or status.
	want := []wantAudit{
		{ev("login", "admin@example.org", engine.RoleAdmin, "", "", 0, ""), []string{"Code"}},
		{ev("login", tours.Email, engine.RoleApplicant, "", "", 0, ""), []string{"Code"}},
		{ev("login_failed", tours.Email, "", "", "", 0, "unauthorized"), []string{"Role"}},
		{ev("refused", tours.Email, engine.RoleApplicant, "POST", "/api/v1/calls", 403, "forbidden"), nil},
		{ev("refused", tours.Email, engine.RoleApplicant, "GET", "/api/v1/applications/0000000000000000", 404, "not_found"), nil},
		{ev("refused", "", "", "GET", "/api/v1/applications", 401, "unauthorized"), []string{"Actor", "Role"}},
		{ev("logout", tours.Email, engine.RoleApplicant, "", "", 0, ""), []string{"Code"}},
		{ev("refused", "", "", "GET", "/api/v1/me", 401, "unauthorized"), []string{"Actor", "Role"}},
		{ev("refused", "", "", "POST", "/api/v1/login", 400, "invalid"), []string{"Actor", "Role"}},
	}
	log := readAudit(t, tm, admin, 2)
	if len(log) != len(want) {
		t.Errorf("%d audit events, want %d:\n%s", len(log), len(want), describeAudit(log))
	}
	for i, w := range want {
		j := len(log) - 1 - i // the log is newest first
		if j < 0 || !w.matches(log[j]) {
			t.Errorf("audit event %d (oldest first): want %+v\nlog:\n%s", i, w.AuditEvent, describeAudit(log))
			break
		}
	}
	// Each has its instant (the clock moved a second between them).
	for i := 1; i < len(log); i++ {
		if !log[i].At.Before(log[i-1].At) {
			t.Errorf("events %s and %s share an instant", log[i].ID, log[i-1].ID)
		}
	}
	if one := readAudit(t, tm, admin, 500); !reflect.DeepEqual(one, log) {
		t.Errorf("one page of 500 and pages of 2 differ:\n%s\n---\n%s", describeAudit(one), describeAudit(log))
	}

	// Only the admin reads it; the attempts are recorded too. (The clock
	// moves between events: ids made in the same millisecond do not sort
	// in the order they were made.)
	step()
	sec := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	step()
	tm.MustFail(403, "forbidden", "GET", "/api/v1/audit", sec, nil)
	step()
	tm.MustFail(403, "forbidden", "GET", "/api/v1/audit?limit=1", tm.MustLogin(tours.Email, testPassword), nil)
	step()
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/audit", "", nil)
	step()
	tm.MustFail(400, "invalid", "GET", "/api/v1/audit?cursor=../../x", admin, nil)
	tm.MustFail(400, "invalid", "GET", "/api/v1/audit?limit=501", admin, nil)
	tm.MustFail(400, "invalid", "GET", "/api/v1/audit?limit=abc", admin, nil)
	after := readAudit(t, tm, admin, 3)
	newer := after[:len(after)-len(log)]
	if !reflect.DeepEqual(after[len(newer):], log) {
		t.Fatalf("the older events changed:\n%s", describeAudit(after))
	}
	for _, w := range []wantAudit{
		{ev("refused", "secretariat@example.org", engine.RoleSecretariat, "GET", "/api/v1/audit", 403, "forbidden"), nil},
		{ev("refused", tours.Email, engine.RoleApplicant, "GET", "/api/v1/audit", 403, "forbidden"), nil},
		{ev("refused", "", "", "GET", "/api/v1/audit", 401, "unauthorized"), []string{"Actor"}},
		{ev("refused", "admin@example.org", engine.RoleAdmin, "GET", "/api/v1/audit", 400, "invalid"), nil},
	} {
		found := false
		for _, e := range newer {
			found = found || w.matches(e)
		}
		if !found {
			t.Errorf("no audit event %+v in\n%s", w.AuditEvent, describeAudit(newer))
		}
	}

	// A refusal recorded just before a stop is stored by the writer's last
	// batch, and the whole log survives the restart.
	step()
	tm.MustFail(404, "not_found", "GET", "/api/v1/calls/nope", "", nil)
	tm.Restart()
	restarted := readAudit(t, tm, admin, 500)
	if len(restarted) != len(after)+1 || !reflect.DeepEqual(restarted[1:], after) {
		t.Fatalf("after the restart, the log is:\n%s\nwant one more event than:\n%s", describeAudit(restarted), describeAudit(after))
	}
	if w := (wantAudit{ev("refused", "", "", "GET", "/api/v1/calls/nope", 404, "not_found"), nil}); !w.matches(restarted[0]) {
		t.Errorf("the last event before the stop: %+v", restarted[0])
	}
}

// describeAudit is the log, one event a line, for failure messages.
func describeAudit(log []engine.AuditEvent) string {
	var b strings.Builder
	for _, e := range log {
		fmt.Fprintf(&b, "  %s %s %-12s %-25s %-11s %-6s %-40s %d %s %s\n", e.ID, e.At.Format(time.TimeOnly), e.Action, e.Actor, e.Role, e.Method, e.Path, e.Status, e.Code, e.Address)
	}
	return b.String()
}
