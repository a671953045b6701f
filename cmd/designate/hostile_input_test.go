package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// Hostile input: every kind of bad body, number, date, code and path goes
// through the real server and is refused with its status, its code and the
// field it concerns, and the database reads back byte for byte as it was;
// only the audit log grows, by one refusal per bad request.

// auditBucket holds the audit log, which refusals write to by design.
const auditBucket = "audit"

// snapshotDB is a consistent copy of the whole live database, every bucket's
// every key and value (a value as a string when it is UTF-8, else as hex;
// nested buckets as "outer/inner").
func snapshotDB(t testing.TB, tm *TestMain) map[string]map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "copy.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.DB.WriteTo(f); err != nil {
		f.Close()
		t.Fatalf("copy the database: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer db.Close()
	out := map[string]map[string]string{}
	var walk func(name string, b *bolt.Bucket)
	walk = func(name string, b *bolt.Bucket) {
		kv := map[string]string{}
		out[name] = kv
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if sub := b.Bucket(k); sub != nil {
					walk(name+"/"+printable(k), sub)
					continue
				}
			}
			kv[printable(k)] = printable(v)
		}
	}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			walk(string(name), b)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// printable is b as a string when it is UTF-8 without NUL, else as hex.
func printable(b []byte) string {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	return "hex:" + hex.EncodeToString(b)
}

// dumpDB is every bucket of the live database but the audit log, which
// refusals are recorded in by design.
func dumpDB(t testing.TB, tm *TestMain) map[string]map[string]string {
	t.Helper()
	all := snapshotDB(t, tm)
	delete(all, auditBucket)
	return all
}

// diffDB lists, sorted, what differs between two dumps: "bucket key: before
// -> after", with absent keys and buckets shown as such.
func diffDB(before, after map[string]map[string]string) []string {
	var diffs []string
	buckets := map[string]bool{}
	for b := range before {
		buckets[b] = true
	}
	for b := range after {
		buckets[b] = true
	}
	short := func(s string, ok bool) string {
		if !ok {
			return "(absent)"
		}
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		return fmt.Sprintf("%q", s)
	}
	for _, b := range slices.Sorted(maps.Keys(buckets)) {
		x, xok := before[b]
		y, yok := after[b]
		if xok != yok {
			diffs = append(diffs, fmt.Sprintf("bucket %s: present before %v, after %v", b, xok, yok))
			continue
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			v, vok := x[k]
			w, wok := y[k]
			if vok != wok || v != w {
				diffs = append(diffs, fmt.Sprintf("%s %q: %s -> %s", b, k, short(v, vok), short(w, wok)))
			}
		}
	}
	return diffs
}

// mustSameDB fails unless two dumps are equal, naming every differing key.
func mustSameDB(t testing.TB, what string, before, after map[string]map[string]string) {
	t.Helper()
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("%s changed the database:\n  %s", what, strings.Join(diffDB(before, after), "\n  "))
	}
}

// flushAudit has the admin read the audit log, which stores every event
// recorded so far first.
func flushAudit(t testing.TB, tm *TestMain, admin string) {
	t.Helper()
	tm.MustDo(200, "GET", "/api/v1/audit?limit=1", admin, nil, nil)
}

// auditSnapshot is the stored audit log, by event id, once flushed.
func auditSnapshot(t testing.TB, tm *TestMain, admin string) map[string]string {
	t.Helper()
	flushAudit(t, tm, admin)
	return snapshotDB(t, tm)[auditBucket]
}

// newAuditEvents are the events in after that are not in before.
func newAuditEvents(t testing.TB, before, after map[string]string) []engine.AuditEvent {
	t.Helper()
	var out []engine.AuditEvent
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if _, old := before[k]; old {
			continue
		}
		var ev engine.AuditEvent
		if err := json.Unmarshal([]byte(after[k]), &ev); err != nil {
			t.Fatalf("audit event %s: %v", k, err)
		}
		out = append(out, ev)
	}
	for k := range before {
		if _, kept := after[k]; !kept {
			t.Errorf("audit event %s disappeared", k)
		}
	}
	return out
}

// noRedirects is a client that shows a redirect instead of following it, so
// that a test sees what the server itself answered.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// sendRaw sends body as is (nil for none) with the headers given, and does
// not follow redirects.
func sendRaw(t testing.TB, tm *TestMain, method, path string, body []byte, header map[string]string) *Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, tm.URL()+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

func bearer(token string) map[string]string {
	if token == "" {
		return nil
	}
	return map[string]string{"Authorization": "Bearer " + token}
}

// draftFixture is a server with an admin, the secretariat, an open call
// and the draft of Tours in it: where the security tests start.
type draftFixture struct {
	*TestMain
	admin, secretariat string
	tours              *city
	draft              string
}

func newDraftFixture(t *testing.T, callID string) draftFixture {
	return newDraftFixtureWith(t, callBody(callID))
}

// newDraftFixtureWith is newDraftFixture with the call's body given.
func newDraftFixtureWith(t *testing.T, body map[string]any) draftFixture {
	callID := body["id"].(string)
	tm := MustRunMain(t, false)
	f := draftFixture{
		TestMain:    tm,
		admin:       tm.MustUser("admin@example.org", engine.RoleAdmin, "", ""),
		secretariat: tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", ""),
	}
	tm.MustDo(201, "POST", "/api/v1/calls", f.secretariat, body, nil)
	f.tours = tm.newCity("Tours", "FR", "Film")
	tm.startDossier(f.tours, callID)
	f.draft = "/api/v1/applications/" + f.tours.Dossier.ID
	return f
}

// hostileFixture is a draftFixture whose draft is complete.
type hostileFixture struct{ draftFixture }

func newHostileFixture(t *testing.T) *hostileFixture {
	f := &hostileFixture{newDraftFixture(t, "hostile")}
	f.MustDo(200, "PUT", f.draft, f.tours.Token, completeDraft(1, "Tours"), &f.tours.Dossier)
	return f
}

// badRequest is one request the server must refuse.
type badRequest struct {
	name         string
	method, path string
	token        string
	body         []byte
	status       int
	code         string
	// fields are the error's per-field keys, exactly; none when empty.
	fields []string
	// alt, when set, is another acceptable set of keys.
	alt []string
}

// mustRefuse sends r and checks the refusal, that the database is as it
// was, and that the audit log grew by exactly one refusal of r.
func (f *hostileFixture) mustRefuse(t *testing.T, r badRequest) {
	t.Helper()
	audit := auditSnapshot(t, f.TestMain, f.admin)
	before := dumpDB(t, f.TestMain)
	res := sendRaw(t, f.TestMain, r.method, r.path, r.body, bearer(r.token))
	e := MustAPIError(t, res, r.status, r.code)
	if got := fieldNames(e); !slices.Equal(got, r.fields) && (r.alt == nil || !slices.Equal(got, r.alt)) {
		t.Errorf("%s: fields %v, want %v; body %s", r.name, e.Error.Fields, r.fields, res.Body)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", r.name, got)
	}
	after := auditSnapshot(t, f.TestMain, f.admin)
	mustSameDB(t, r.name, before, dumpDB(t, f.TestMain))
	events := newAuditEvents(t, audit, after)
	if len(events) != 1 {
		t.Fatalf("%s: %d new audit events, want 1 refusal: %+v", r.name, len(events), events)
	}
	ev := events[0]
	wantPath, _, _ := strings.Cut(r.path, "?")
	if ev.Action != engine.AuditRefused || ev.Method != r.method || ev.Status != r.status || ev.Code != r.code || ev.Address != "127.0.0.1" {
		t.Errorf("%s: audit event %+v, want refused %s %d %s from 127.0.0.1", r.name, ev, r.method, r.status, r.code)
	}
	if !strings.Contains(wantPath, "%") && ev.Path != wantPath {
		t.Errorf("%s: audit path %q, want %q", r.name, ev.Path, wantPath)
	}
}

// mustRefuseLogin sends a malformed sign-in and checks the refusal and that
// nothing but the audit log changed. A sign-in that never reaches the
// account check is recorded as a refusal, like any other bad request.
func (f *hostileFixture) mustRefuseLogin(t *testing.T, r badRequest) {
	t.Helper()
	r.method, r.path = "POST", "/api/v1/login"
	f.mustRefuse(t, r)
}

// with returns body as JSON with key set to the raw JSON value (or removed
// when value is empty).
func with(t testing.TB, body map[string]any, key, value string) []byte {
	t.Helper()
	m := maps.Clone(body)
	if value == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(value)
	}
	return jsonOf(t, m)
}

func TestHostileInput_IsRefusedAndStoresNothing(t *testing.T) {
	f := newHostileFixture(t)
	tours := f.tours
	draft := f.draft
	version := tours.Dossier.Version
	sec := f.secretariat
	calls := "/api/v1/calls"
	apps := "/api/v1/calls/hostile/applications"
	moves := draft + "/transitions"
	// A second applicant without a dossier, to create one.
	caen := f.newCity("Caen", "FR", "Music")
	appBody := map[string]any{"city": "Caen", "country": "FR", "field": "Music", "language": "en"}
	saveBody := completeDraft(version, "Tours")
	moveBody := map[string]any{"event": "submit"}
	loginBody := map[string]any{"email": tours.Email, "password": testPassword}

	t.Run("MalformedJSON", func(t *testing.T) {
		for _, c := range []struct{ name, path, token, body string }{
			{"call", calls, sec, `{"id": "x" "title": "y"}`},
			{"call cut short", calls, sec, `{"id": "x",`},
			{"application", apps, caen.Token, `{city: "Caen"}`},
			{"draft", draft, tours.Token, `{"version": 2,,}`},
			{"transition", moves, tours.Token, `{'event': 'submit'}`},
		} {
			method := "POST"
			if c.path == draft {
				method = "PUT"
			}
			f.mustRefuse(t, badRequest{name: c.name, method: method, path: c.path, token: c.token, body: []byte(c.body), status: 400, code: "invalid"})
		}
		f.mustRefuseLogin(t, badRequest{name: "login", body: []byte(`{"email": `), status: 400, code: "invalid"})
	})

	t.Run("WrongTypes", func(t *testing.T) {
		f.mustRefuse(t, badRequest{name: "draft version as a string", method: "PUT", path: draft, token: tours.Token,
			body: with(t, saveBody, "version", `"7"`), status: 400, code: "invalid", fields: []string{"version"}})
		f.mustRefuse(t, badRequest{name: "transition version as a string", method: "POST", path: moves, token: tours.Token,
			body: with(t, moveBody, "version", `"7"`), status: 400, code: "invalid", fields: []string{"version"}})
		f.mustRefuse(t, badRequest{name: "sections as a list", method: "PUT", path: draft, token: tours.Token,
			body: with(t, saveBody, "sections", `["vision"]`), status: 400, code: "invalid", fields: []string{"sections"}})
		f.mustRefuse(t, badRequest{name: "call fields as a string", method: "POST", path: calls, token: sec,
			body: with(t, callBody("typed"), "fields", `"Film"`), status: 400, code: "invalid", fields: []string{"fields"}})
		f.mustRefuse(t, badRequest{name: "country as a number", method: "POST", path: apps, token: caen.Token,
			body: with(t, appBody, "country", `33`), status: 400, code: "invalid", fields: []string{"country"}})
		f.mustRefuseLogin(t, badRequest{name: "password as a number",
			body: with(t, loginBody, "password", `12345`), status: 400, code: "invalid", fields: []string{"password"}})
	})

	t.Run("UnknownFields", func(t *testing.T) {
		f.mustRefuse(t, badRequest{name: "call", method: "POST", path: calls, token: sec,
			body: with(t, callBody("unknown"), "budget", `1000`), status: 400, code: "invalid", fields: []string{"budget"}})
		f.mustRefuse(t, badRequest{name: "application", method: "POST", path: apps, token: caen.Token,
			body: with(t, appBody, "state", `"designated"`), status: 400, code: "invalid", fields: []string{"state"}})
		f.mustRefuse(t, badRequest{name: "draft", method: "PUT", path: draft, token: tours.Token,
			body: with(t, saveBody, "owner", `"someone"`), status: 400, code: "invalid", fields: []string{"owner"}})
		f.mustRefuse(t, badRequest{name: "transition", method: "POST", path: moves, token: tours.Token,
			body: with(t, moveBody, "actor", `"secretariat@example.org"`), status: 400, code: "invalid", fields: []string{"actor"}})
		f.mustRefuseLogin(t, badRequest{name: "login",
			body: with(t, loginBody, "role", `"admin"`), status: 400, code: "invalid", fields: []string{"role"}})
	})

	t.Run("MissingRequiredFields", func(t *testing.T) {
		f.mustRefuse(t, badRequest{name: "call without title", method: "POST", path: calls, token: sec,
			body: with(t, callBody("untitled"), "title", ""), status: 400, code: "invalid", fields: []string{"title"}})
		f.mustRefuse(t, badRequest{name: "call without deadline", method: "POST", path: calls, token: sec,
			body: with(t, callBody("undated"), "submission_deadline", ""), status: 400, code: "invalid", fields: []string{"submission_deadline"}})
		f.mustRefuse(t, badRequest{name: "application without country", method: "POST", path: apps, token: caen.Token,
			body: with(t, appBody, "country", ""), status: 400, code: "invalid", fields: []string{"country"}})
		f.mustRefuse(t, badRequest{name: "draft without version", method: "PUT", path: draft, token: tours.Token,
			body: with(t, saveBody, "version", ""), status: 400, code: "invalid", fields: []string{"version"}})
		f.mustRefuse(t, badRequest{name: "transition without event", method: "POST", path: moves, token: tours.Token,
			body: []byte(`{"note": "please"}`), status: 400, code: "invalid", fields: []string{"event"}})
		f.mustRefuseLogin(t, badRequest{name: "login without password",
			body: with(t, loginBody, "password", ""), status: 400, code: "invalid", fields: []string{"password"}})
	})

	t.Run("InvalidUTF8", func(t *testing.T) {
		bad := func(body map[string]any, key string) []byte {
			raw := jsonOf(t, body)
			// Replace the value's first letter by a byte that is not UTF-8.
			i := bytes.Index(raw, []byte(`"`+key+`":"`)) + len(key) + 4
			raw = slices.Clone(raw)
			raw[i] = 0xff
			return raw
		}
		f.mustRefuse(t, badRequest{name: "call title", method: "POST", path: calls, token: sec,
			body: bad(callBody("utf"), "title"), status: 400, code: "invalid"})
		f.mustRefuse(t, badRequest{name: "application city", method: "POST", path: apps, token: caen.Token,
			body: bad(appBody, "city"), status: 400, code: "invalid"})
		f.mustRefuse(t, badRequest{name: "draft section", method: "PUT", path: draft, token: tours.Token,
			body: []byte("{\"version\": 2, \"sections\": {\"vision\": \"caf\xc3\x28\"}}"), status: 400, code: "invalid"})
		f.mustRefuse(t, badRequest{name: "transition note", method: "POST", path: moves, token: tours.Token,
			body: []byte("{\"event\": \"submit\", \"note\": \"\xed\xa0\x80\"}"), status: 400, code: "invalid"})
		f.mustRefuseLogin(t, badRequest{name: "login password",
			body: bad(loginBody, "password"), status: 400, code: "invalid"})
	})

	t.Run("NUL", func(t *testing.T) {
		// json.Marshal writes a NUL in a string as \u0000; raw puts the byte
		// itself there instead.
		for _, raw := range []bool{false, true} {
			kind := `escaped \u0000`
			if raw {
				kind = "raw NUL byte"
			}
			nul := func(body map[string]any) []byte {
				b := jsonOf(t, body)
				if !bytes.Contains(b, []byte(`\u0000`)) {
					t.Fatalf("no NUL in %s", b)
				}
				if raw {
					b = bytes.ReplaceAll(b, []byte(`\u0000`), []byte{0})
				}
				return b
			}
			set := func(body map[string]any, key string, value any) map[string]any {
				m := maps.Clone(body)
				m[key] = value
				return m
			}
			f.mustRefuse(t, badRequest{name: "call title, " + kind, method: "POST", path: calls, token: sec,
				body: nul(set(callBody("nul"), "title", "Call\x00")), status: 400, code: "invalid"})
			f.mustRefuse(t, badRequest{name: "application city, " + kind, method: "POST", path: apps, token: caen.Token,
				body: nul(set(appBody, "city", "Caen\x00")), status: 400, code: "invalid"})
			f.mustRefuse(t, badRequest{name: "draft section, " + kind, method: "PUT", path: draft, token: tours.Token,
				body: nul(set(saveBody, "sections", map[string]string{"vision": "a\x00b"})), status: 400, code: "invalid"})
			f.mustRefuse(t, badRequest{name: "section id, " + kind, method: "PUT", path: draft, token: tours.Token,
				body: nul(set(saveBody, "sections", map[string]string{"vision\x00": "text"})), status: 400, code: "invalid"})
			f.mustRefuse(t, badRequest{name: "contact name, " + kind, method: "PUT", path: draft, token: tours.Token,
				body: nul(set(saveBody, "contacts", map[string]any{"mayor": map[string]string{"name": "\x00"}})), status: 400, code: "invalid"})
			f.mustRefuse(t, badRequest{name: "transition event, " + kind, method: "POST", path: moves, token: tours.Token,
				body: nul(set(moveBody, "event", "submit\x00")), status: 400, code: "invalid"})
			f.mustRefuseLogin(t, badRequest{name: "login e-mail, " + kind,
				body: nul(set(loginBody, "email", tours.Email+"\x00")), status: 400, code: "invalid"})
		}
		// Outside a string a NUL is a syntax error; refused all the same.
		f.mustRefuse(t, badRequest{name: "NUL between tokens", method: "POST", path: moves, token: tours.Token,
			body: []byte("{\"event\":\x00\"submit\"}"), status: 400, code: "invalid"})
	})

	t.Run("TooLarge", func(t *testing.T) {
		big := func(prefix string) []byte {
			return []byte(prefix + strings.Repeat("word ", forms1MiB/5+10) + `"}`)
		}
		f.mustRefuse(t, badRequest{name: "draft", method: "PUT", path: draft, token: tours.Token,
			body: append(big(`{"version": 2, "sections": {"vision": "`), '}'), status: 413, code: "too_large"})
		f.mustRefuse(t, badRequest{name: "call", method: "POST", path: calls, token: sec,
			body: big(`{"id": "big", "title": "`), status: 413, code: "too_large"})
		f.mustRefuse(t, badRequest{name: "application", method: "POST", path: apps, token: caen.Token,
			body: big(`{"city": "`), status: 413, code: "too_large"})
		f.mustRefuse(t, badRequest{name: "transition", method: "POST", path: moves, token: tours.Token,
			body: big(`{"event": "withdraw", "note": "`), status: 413, code: "too_large"})
		f.mustRefuseLogin(t, badRequest{name: "login", body: big(`{"email": "a@example.org", "password": "`), status: 413, code: "too_large"})
		// Exactly at the cap is read (and refused for what it says, not its size).
		body := []byte(`{"event": "withdraw", "note": "`)
		body = append(body, bytes.Repeat([]byte("x"), forms1MiB-len(body)-2)...)
		body = append(body, '"', '}')
		f.mustRefuse(t, badRequest{name: "transition at the cap", method: "POST", path: moves, token: tours.Token,
			body: body, status: 400, code: "invalid", fields: []string{"note"}})
	})

	t.Run("DatesOutOfOrder", func(t *testing.T) {
		for field, value := range map[string]time.Time{
			"submission_deadline":  callOpens.Add(-time.Minute),
			"endorsement_deadline": callDeadline.Add(callGrace - time.Minute),
			"evaluation_deadline":  callEndorseBy.Add(-time.Minute),
			"announcement_at":      callEvaluate.Add(-time.Minute),
		} {
			body := callBody("dates")
			body[field] = value.Format(time.RFC3339)
			f.mustRefuse(t, badRequest{name: field, method: "POST", path: calls, token: sec,
				body: jsonOf(t, body), status: 400, code: "invalid", fields: []string{field}})
		}
		body := callBody("dates")
		body["opens_at"] = "1999-12-31T23:59:00Z"
		f.mustRefuse(t, badRequest{name: "last century", method: "POST", path: calls, token: sec,
			body: jsonOf(t, body), status: 400, code: "invalid", fields: []string{"opens_at"}})
		// An update is checked the same way, and leaves the call as it was.
		body = callBody("hostile")
		body["version"] = 1
		body["announcement_at"] = callOpens.Format(time.RFC3339)
		f.mustRefuse(t, badRequest{name: "update", method: "PUT", path: calls + "/hostile", token: sec,
			body: jsonOf(t, body), status: 400, code: "invalid", fields: []string{"announcement_at"}})
	})

	t.Run("UnknownCountry", func(t *testing.T) {
		for _, cc := range []string{"XX", "fr", "FRA", "", "F", "ÉÉ"} {
			body := maps.Clone(appBody)
			body["country"] = cc
			f.mustRefuse(t, badRequest{name: fmt.Sprintf("country %q", cc), method: "POST", path: apps, token: caen.Token,
				body: jsonOf(t, body), status: 400, code: "invalid", fields: []string{"country"}})
		}
		f.mustRefuse(t, badRequest{name: "country filter", method: "GET", path: "/api/v1/applications?country=FRA", token: sec,
			status: 400, code: "invalid", fields: []string{"country"}})
	})

	t.Run("UnknownFieldOfCreativity", func(t *testing.T) {
		body := maps.Clone(appBody)
		body["field"] = "Cooking"
		f.mustRefuse(t, badRequest{name: "application", method: "POST", path: apps, token: caen.Token,
			body: jsonOf(t, body), status: 400, code: "invalid", fields: []string{"field"}})
		body["field"] = "music"
		f.mustRefuse(t, badRequest{name: "application, wrong case", method: "POST", path: apps, token: caen.Token,
			body: jsonOf(t, body), status: 400, code: "invalid", fields: []string{"field"}})
		save := maps.Clone(saveBody)
		save["field"] = "Cooking"
		f.mustRefuse(t, badRequest{name: "draft", method: "PUT", path: draft, token: tours.Token,
			body: jsonOf(t, save), status: 400, code: "invalid", fields: []string{"field"}})
	})

	t.Run("HugeNumbers", func(t *testing.T) {
		for _, n := range []string{"1e30", "99999999999999999999", "-99999999999999999999", "1.5", "7e0"} {
			f.mustRefuse(t, badRequest{name: "draft version " + n, method: "PUT", path: draft, token: tours.Token,
				body: with(t, saveBody, "version", n), status: 400, code: "invalid", fields: []string{"version"}})
			f.mustRefuse(t, badRequest{name: "transition version " + n, method: "POST", path: moves, token: tours.Token,
				body: with(t, moveBody, "version", n), status: 400, code: "invalid", fields: []string{"version"}})
		}
		for _, n := range []string{"1e9", "1000000000", "99999999999999999999", "0", "-1"} {
			f.mustRefuse(t, badRequest{name: "max_per_country " + n, method: "POST", path: calls, token: sec,
				body: with(t, callBody("huge"), "max_per_country", n), status: 400, code: "invalid", fields: []string{"max_per_country"}})
		}
		f.mustRefuse(t, badRequest{name: "word limit", method: "POST", path: calls, token: sec,
			body: with(t, callBody("huge"), "sections", `[{"id": "vision", "title": {"en": "V", "fr": "V"}, "word_limit": 1e30}]`),
			// A wrong type inside a list is named without its index, as
			// encoding/json reports it (the validator would say
			// sections[0].word_limit): accepted either way.
			status: 400, code: "invalid", fields: []string{"sections[0].word_limit"}, alt: []string{"sections.word_limit"}})
	})

	t.Run("PathTricks", func(t *testing.T) {
		lower := strings.ToLower(tours.Dossier.ID)
		for _, path := range []string{
			"/api/v1/applications/..%2F..%2Fetc%2Fpasswd",
			"/api/v1/applications/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
			"/api/v1/applications/%00",
			"/api/v1/applications/" + tours.Dossier.ID + "0",
			"/api/v1/applications/" + tours.Dossier.ID[:15],
			"/api/v1/applications/" + lower,
			"/api/v1/applications/" + tours.Dossier.ID + "%00",
			"/api/v1/applications/" + tours.Dossier.ID + "%2F",
			"/api/v1/applications/" + tours.Dossier.ID + "%2Fhistory",
			"/api/v1/calls/..%2Fx",
			"/api/v1/calls/..%2F..%2Fapi%2Fv1%2Fusers",
			"/api/v1/calls/UCCN",
			"/api/v1/calls/HOSTILE",
			"/api/v1/calls/%2E%2E",
			"/api/v1/calls/hostile%00",
		} {
			f.mustRefuse(t, badRequest{name: "GET " + path, method: "GET", path: path, token: tours.Token, status: 404, code: "not_found"})
			if strings.HasPrefix(path, "/api/v1/applications/") {
				f.mustRefuse(t, badRequest{name: "PUT " + path, method: "PUT", path: path, token: tours.Token,
					body: jsonOf(t, saveBody), status: 404, code: "not_found"})
				f.mustRefuse(t, badRequest{name: "POST " + path + "/transitions", method: "POST", path: path + "/transitions", token: tours.Token,
					body: jsonOf(t, map[string]string{"event": "withdraw"}), status: 404, code: "not_found"})
			} else {
				f.mustRefuse(t, badRequest{name: "POST " + path + "/applications", method: "POST", path: path + "/applications", token: caen.Token,
					body: jsonOf(t, appBody), status: 404, code: "not_found"})
			}
		}
	})

	t.Run("EmptyBody", func(t *testing.T) {
		for _, body := range [][]byte{{}, []byte("   \r\n\t ")} {
			f.mustRefuse(t, badRequest{name: "call", method: "POST", path: calls, token: sec, body: body, status: 400, code: "invalid"})
			f.mustRefuse(t, badRequest{name: "application", method: "POST", path: apps, token: caen.Token, body: body, status: 400, code: "invalid"})
			f.mustRefuse(t, badRequest{name: "draft", method: "PUT", path: draft, token: tours.Token, body: body, status: 400, code: "invalid"})
			f.mustRefuse(t, badRequest{name: "transition", method: "POST", path: moves, token: tours.Token, body: body, status: 400, code: "invalid"})
			f.mustRefuseLogin(t, badRequest{name: "login", body: body, status: 400, code: "invalid"})
		}
		// No body at all.
		f.mustRefuse(t, badRequest{name: "no body", method: "POST", path: moves, token: tours.Token, status: 400, code: "invalid"})
	})

	t.Run("ArrayInsteadOfObject", func(t *testing.T) {
		f.mustRefuse(t, badRequest{name: "call", method: "POST", path: calls, token: sec,
			body: jsonOf(t, []any{callBody("array")}), status: 400, code: "invalid"})
		f.mustRefuse(t, badRequest{name: "application", method: "POST", path: apps, token: caen.Token,
			body: jsonOf(t, []any{appBody}), status: 400, code: "invalid"})
		f.mustRefuse(t, badRequest{name: "draft", method: "PUT", path: draft, token: tours.Token,
			body: jsonOf(t, []any{saveBody}), status: 400, code: "invalid"})
		f.mustRefuse(t, badRequest{name: "transition", method: "POST", path: moves, token: tours.Token,
			body: []byte(`[]`), status: 400, code: "invalid"})
		for _, scalar := range []string{`"submit"`, `42`, `true`, `[{"event": "submit"}]`} {
			f.mustRefuse(t, badRequest{name: "transition " + scalar, method: "POST", path: moves, token: tours.Token,
				body: []byte(scalar), status: 400, code: "invalid"})
		}
		// null is read as an empty object (forms.DecodeJSON documents it),
		// so what the form requires is named.
		f.mustRefuse(t, badRequest{name: "transition null", method: "POST", path: moves, token: tours.Token,
			body: []byte(`null`), status: 400, code: "invalid", fields: []string{"event"}})
		f.mustRefuseLogin(t, badRequest{name: "login", body: jsonOf(t, []any{loginBody}), status: 400, code: "invalid"})
	})

	t.Run("TrailingData", func(t *testing.T) {
		for _, tail := range []string{`{}`, `}`, `]`, `x`, `{"version": 99}`, "\x00"} {
			f.mustRefuse(t, badRequest{name: "draft + " + tail, method: "PUT", path: draft, token: tours.Token,
				body: append(jsonOf(t, saveBody), tail...), status: 400, code: "invalid"})
		}
		f.mustRefuse(t, badRequest{name: "call", method: "POST", path: calls, token: sec,
			body: append(jsonOf(t, callBody("trailing")), ` {"id": "other"}`...), status: 400, code: "invalid"})
		f.mustRefuse(t, badRequest{name: "application", method: "POST", path: apps, token: caen.Token,
			body: append(jsonOf(t, appBody), `,`...), status: 400, code: "invalid"})
		f.mustRefuse(t, badRequest{name: "transition", method: "POST", path: moves, token: tours.Token,
			body: []byte(`{"event": "submit"}{"event": "withdraw"}`), status: 400, code: "invalid"})
		f.mustRefuseLogin(t, badRequest{name: "login", body: append(jsonOf(t, loginBody), `}`...), status: 400, code: "invalid"})
	})

	// Whatever was refused, the drafts are as they were and nothing else
	// was made: Tours's draft at its version, no dossier for Caen, one call.
	if d := f.dossier(tours.Dossier.ID, tours.Token); d.Version != version || d.State != "draft" {
		t.Errorf("Tours's draft after the refusals: %s v%d, want draft v%d", d.State, d.Version, version)
	}
	var mine Page
	f.MustDo(200, "GET", "/api/v1/applications", caen.Token, nil, &mine)
	if len(mine.Items) != 0 {
		t.Errorf("Caen has %d dossiers after refused creates", len(mine.Items))
	}
	var all struct{ Items []Call }
	f.MustDo(200, "GET", "/api/v1/calls", "", nil, &all)
	if len(all.Items) != 1 {
		t.Errorf("%d calls after refused creates, want 1", len(all.Items))
	}
}

// forms1MiB is the body cap, forms.MaxBody.
const forms1MiB = 1 << 20

// Text with HTML in it is the city's text: it is stored exactly as given and
// given back escaped, as JSON, never as something a browser would render.
func TestHostileInput_HTMLIsStoredAsGivenAndEscaped(t *testing.T) {
	f := newHostileFixture(t)
	tours := f.tours
	script := `<script>alert(1)</script>`
	img := `"><img src=x onerror=alert(1)>`
	amp := `Tom & Jerry's <b>"festival"</b> & co`
	body := completeDraft(tours.Dossier.Version, "Tours")
	body["sections"] = map[string]string{"vision": script, "plan": img, "annex": amp}
	c := body["contacts"].(map[string]any)
	c["mayor"].(map[string]string)["name"] = img
	c["main"].(map[string]string)["name"] = script
	c["representative"].(map[string]string)["name"] = amp

	check := func(what string, r *Response) {
		t.Helper()
		if r.Status != 200 {
			t.Fatalf("%s: status %d; body %s", what, r.Status, r.Body)
		}
		for _, raw := range []string{"<script>", "</script>", "<img", "<b>", "&"} {
			if bytes.Contains(r.Body, []byte(raw)) {
				t.Errorf("%s: the body contains %q unescaped: %s", what, raw, r.Body)
			}
		}
		for _, esc := range []string{`\u003cscript\u003e`, `\u003cimg src=x onerror=alert(1)\u003e`} {
			if !bytes.Contains(r.Body, []byte(esc)) {
				t.Errorf("%s: the body does not contain %s: %s", what, esc, r.Body)
			}
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", what, ct)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", what, got)
		}
	}
	saved := f.MustSend("PUT", f.draft, tours.Token, body)
	check("PUT", saved)
	if err := json.Unmarshal(saved.Body, &tours.Dossier); err != nil {
		t.Fatal(err)
	}
	read := f.MustSend("GET", f.draft, tours.Token, nil)
	check("GET", read)
	// A list answers heads only, so the text is not in it at all; nothing
	// in it is unescaped either.
	list := f.MustSend("GET", "/api/v1/applications", tours.Token, nil)
	for _, raw := range []string{"<", ">", "&", `\u003cscript`} {
		if bytes.Contains(list.Body, []byte(raw)) {
			t.Errorf("list: the body contains %q: %s", raw, list.Body)
		}
	}

	var d Dossier
	if err := json.Unmarshal(read.Body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Sections["vision"] != script || d.Sections["plan"] != img || d.Sections["annex"] != amp {
		t.Errorf("sections read back %q, want them as sent", d.Sections)
	}
	if d.Contacts.Mayor.Name != img || d.Contacts.Main.Name != script || d.Contacts.Representative.Name != amp {
		t.Errorf("contacts read back %+v, want the names as sent", d.Contacts)
	}

	// The database holds the text as given, not entity-encoded or stripped
	// (in the dossier's body, apart from its head).
	var stored engine.Application
	if err := json.Unmarshal([]byte(dumpDB(t, f.TestMain)["bodies"][d.ID]), &stored); err != nil {
		t.Fatalf("stored dossier: %v", err)
	}
	if stored.Sections["vision"] != script || stored.Contacts.Mayor.Name != img {
		t.Errorf("stored %q / %q, want the text as sent", stored.Sections["vision"], stored.Contacts.Mayor.Name)
	}

	// Once submitted, the secretariat reads it the same way.
	f.move(tours.Token, &tours.Dossier, "submit", script, "submitted")
	check("GET as the secretariat", f.MustSend("GET", f.draft, f.secretariat, nil))
	h := f.MustSend("GET", f.draft+"/history", f.secretariat, nil)
	if h.Status != 200 || bytes.Contains(h.Body, []byte("<script>")) || !bytes.Contains(h.Body, []byte(`\u003cscript\u003e`)) {
		t.Errorf("history: status %d, body %s", h.Status, h.Body)
	}
}

// A draft may be saved over a section's word limit, text kept, so a city
// never loses work; it cannot be submitted so, and the refusal names the
// section.
func TestHostileInput_WordLimitBlocksOnlySubmission(t *testing.T) {
	f := newHostileFixture(t)
	lyon := f.newCity("Lyon", "FR", "Design")
	f.startDossier(lyon, "hostile")
	path := "/api/v1/applications/" + lyon.Dossier.ID
	body := completeDraft(lyon.Dossier.Version, "Lyon")
	long := strings.TrimSpace(strings.Repeat("festival ", 11)) // plan allows 10
	body["sections"].(map[string]string)["plan"] = long
	f.MustDo(200, "PUT", path, lyon.Token, body, &lyon.Dossier)
	if d := f.dossier(lyon.Dossier.ID, lyon.Token); d.Sections["plan"] != long || d.Version != 2 {
		t.Fatalf("saved over the limit: v%d plan %q, want v2 and the text kept", d.Version, d.Sections["plan"])
	}
	f.mustRefuse(t, badRequest{name: "submit over the word limit", method: "POST", path: path + "/transitions", token: lyon.Token,
		body: []byte(`{"event": "submit"}`), status: 422, code: "incomplete", fields: []string{"sections.plan"}})

	// Back within the limit, it goes.
	body = completeDraft(lyon.Dossier.Version, "Lyon")
	f.MustDo(200, "PUT", path, lyon.Token, body, &lyon.Dossier)
	f.move(lyon.Token, &lyon.Dossier, "submit", "", "submitted")
}
