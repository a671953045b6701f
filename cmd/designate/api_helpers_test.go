package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// What every end-to-end test of the API shares: a client that does not fail
// the test (so goroutines may use it), the error body's strict shape, and a
// call and a dossier as a real client would send them.

// testPassword is the password MustUser gives every account.
const testPassword = "correct horse battery"

// Response is an answer as a client sees it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Send sends a JSON request as Do does, but returns the whole answer, and an
// error instead of failing the test, so that goroutines may call it.
func (tm *TestMain) Send(method, path, token string, body any) (*Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, tm.URL()+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// MustSend is Send failing the test on a transport error.
func (tm *TestMain) MustSend(method, path, token string, body any) *Response {
	tm.tb.Helper()
	r, err := tm.Send(method, path, token, body)
	if err != nil {
		tm.tb.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// MustDo is Do that fails the test unless the answer has the status want.
func (tm *TestMain) MustDo(want int, method, path, token string, body, out any) {
	tm.tb.Helper()
	r := tm.MustSend(method, path, token, body)
	if r.Status != want {
		tm.tb.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.Status, want, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			tm.tb.Fatalf("%s %s: decode %q: %v", method, path, r.Body, err)
		}
	}
}

// MustFail sends a request that must be refused with status and code, checks
// that the body has exactly the documented error shape, and returns it.
func (tm *TestMain) MustFail(status int, code, method, path, token string, body any) APIError {
	tm.tb.Helper()
	r := tm.MustSend(method, path, token, body)
	return MustAPIError(tm.tb, r, status, code)
}

// MustAPIError checks that r is a refusal with status and code in the error
// shape every client parses: {"error":{"code","message","fields"?}}, JSON,
// nothing else at the top level, a message for people.
func MustAPIError(tb testing.TB, r *Response, status int, code string) APIError {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("Content-Type %q, want application/json", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &top); err != nil {
		tb.Fatalf("error body %q is not a JSON object: %v", r.Body, err)
	}
	if len(top) != 1 || top["error"] == nil {
		tb.Fatalf("error body %s: want exactly one key, \"error\"", r.Body)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(top["error"], &inner); err != nil {
		tb.Fatalf("error body %s: \"error\" is not an object", r.Body)
	}
	for k := range inner {
		if k != "code" && k != "message" && k != "fields" {
			tb.Errorf("error body %s: unexpected key %q", r.Body, k)
		}
	}
	var e APIError
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		tb.Fatalf("error body %s: %v", r.Body, err)
	}
	if e.Error.Code != code {
		tb.Fatalf("error code %q, want %q; body %s", e.Error.Code, code, r.Body)
	}
	if strings.TrimSpace(e.Error.Message) == "" {
		tb.Errorf("error body %s: empty message", r.Body)
	}
	for k, v := range e.Error.Fields {
		if strings.TrimSpace(v) == "" {
			tb.Errorf("error body %s: field %q has no message", r.Body, k)
		}
	}
	return e
}

// MustLogin signs in and returns the token.
func (tm *TestMain) MustLogin(email, password string) string {
	tm.tb.Helper()
	var res struct{ Token string }
	tm.MustDo(200, "POST", "/api/v1/login", "", map[string]string{"email": email, "password": password}, &res)
	if res.Token == "" {
		tm.tb.Fatalf("login %s: no token", email)
	}
	return res.Token
}

// Stop stops the program as an operator would (the commands that need the
// database to themselves then run); Restart starts it again.
func (tm *TestMain) Stop() {
	tm.tb.Helper()
	if err := tm.Main.Close(); err != nil {
		tm.tb.Fatal(err)
	}
}

// ConfigForTest is the repository's config.yaml for a test: the data in dir,
// an ephemeral port, the demo only when asked.
func ConfigForTest(tb testing.TB, dir string, demo bool) Config {
	tb.Helper()
	cfg, err := LoadConfig(filepath.Join(repoRoot(tb), "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Addr, cfg.Data, cfg.Demo.Enabled = "127.0.0.1:0", dir, demo
	// Messages wait in the outbox, so that a test comparing the database
	// before and after a request sees only what the request did; the mail
	// tests turn delivery on.
	cfg.Mail.Deliver = false
	return cfg
}

// Raw reads a JSON answer as raw bytes, to compare it whole.
func (tm *TestMain) Raw(path, token string) []byte {
	tm.tb.Helper()
	r := tm.MustSend("GET", path, token, nil)
	if r.Status != 200 {
		tm.tb.Fatalf("GET %s: status %d; body %s", path, r.Status, r.Body)
	}
	return r.Body
}

// MustUnchanged fails unless GET path answers exactly before, for checking
// that a refused write left the stored data as it was.
func (tm *TestMain) MustUnchanged(path, token string, before []byte) {
	tm.tb.Helper()
	if after := tm.Raw(path, token); !bytes.Equal(after, before) {
		tm.tb.Fatalf("GET %s changed after a refused write:\nbefore %s\nafter  %s", path, before, after)
	}
}

// The call the API tests run, in the network's time zone; the clock starts
// on 16 March 2027 at 09:00 UTC.
var (
	paris         = mustLocation("Europe/Paris")
	callOpens     = time.Date(2027, 3, 15, 0, 0, 0, 0, paris)
	callDeadline  = time.Date(2027, 4, 30, 23, 59, 0, 0, paris)
	callGrace     = 30 * time.Minute
	callClose     = callDeadline.Add(callGrace)
	callEndorseBy = time.Date(2027, 5, 31, 23, 59, 0, 0, paris)
	callEvaluate  = time.Date(2027, 7, 31, 23, 59, 0, 0, paris)
	callAnnounce  = time.Date(2027, 9, 1, 10, 0, 0, 0, paris)
)

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// callBody is what the secretariat sends to create a call: three sections
// (two required), Film, Music, Design and Gastronomy, English and French,
// and the defaults for the country rules unless set.
func callBody(id string) map[string]any {
	return map[string]any{
		"id":                   id,
		"title":                "Call " + id,
		"time_zone":            "Europe/Paris",
		"fields":               []string{"Film", "Music", "Design", "Gastronomy"},
		"languages":            []string{"en", "fr"},
		"opens_at":             callOpens.Format(time.RFC3339),
		"submission_deadline":  callDeadline.Format(time.RFC3339),
		"grace":                "30m",
		"endorsement_deadline": callEndorseBy.Format(time.RFC3339),
		"evaluation_deadline":  callEvaluate.Format(time.RFC3339),
		"announcement_at":      callAnnounce.Format(time.RFC3339),
		"sections": []map[string]any{
			{"id": "vision", "title": map[string]string{"en": "Vision", "fr": "Vision"}, "word_limit": 50, "required": true},
			{"id": "plan", "title": map[string]string{"en": "Action plan", "fr": "Plan d'action"}, "word_limit": 10, "required": true},
			{"id": "annex", "title": map[string]string{"en": "Annex", "fr": "Annexe"}, "word_limit": 20, "required": false},
		},
	}
}

// Call is a call as the API returns it.
type Call struct {
	ID                  string     `json:"id"`
	Title               string     `json:"title"`
	State               string     `json:"state"`
	TimeZone            string     `json:"time_zone"`
	Fields              []string   `json:"fields"`
	Languages           []string   `json:"languages"`
	OpensAt             time.Time  `json:"opens_at"`
	SubmissionDeadline  time.Time  `json:"submission_deadline"`
	Grace               string     `json:"grace"`
	EndorsementDeadline time.Time  `json:"endorsement_deadline"`
	AnnouncementAt      time.Time  `json:"announcement_at"`
	MaxPerCountry       int        `json:"max_per_country"`
	DistinctFields      bool       `json:"distinct_fields"`
	Version             int        `json:"version"`
	AnnouncedAt         *time.Time `json:"announced_at"`
}

// Dossier is an application as the API returns it.
type Dossier struct {
	ID       string            `json:"id"`
	Call     string            `json:"call"`
	City     string            `json:"city"`
	Country  string            `json:"country"`
	Field    string            `json:"field"`
	Language string            `json:"language"`
	State    string            `json:"state"`
	Version  int               `json:"version"`
	Sections map[string]string `json:"sections"`
	Contacts struct {
		Mayor, Representative, Main struct{ Name, Email, Phone string }
	} `json:"contacts"`
}

// Page is one page of GET /api/v1/applications.
type Page struct {
	Items      []Dossier `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// Event is one line of a dossier's history.
type Event struct {
	Seq   int       `json:"seq"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Role  string    `json:"role"`
	Event string    `json:"event"`
	From  string    `json:"from"`
	To    string    `json:"to"`
	Note  string    `json:"note"`
}

// contacts are a dossier's three complete contacts.
func contacts(city string) map[string]any {
	c := func(who string) map[string]string {
		slug := strings.ToLower(strings.ReplaceAll(city, " ", "-"))
		return map[string]string{"name": who + " of " + city, "email": who + "@" + slug + ".example.org", "phone": "+33 1 45 68 10 00"}
	}
	return map[string]any{"mayor": c("mayor"), "representative": c("deputy"), "main": c("culture")}
}

// completeDraft is a save that makes the dossier submittable.
func completeDraft(version int, city string) map[string]any {
	return map[string]any{
		"version":  version,
		"contacts": contacts(city),
		"sections": map[string]string{
			"vision": city + " puts culture at the heart of its development.",
			"plan":   "Festivals, residencies and schools.",
		},
	}
}

// city is an applicant account and its dossier, as the test follows it.
type city struct {
	Email, Name, Country, Field string
	Token                       string
	Dossier                     Dossier
}

// newCity makes the applicant account of a city and signs it in.
func (tm *TestMain) newCity(name, country, field string) *city {
	tm.tb.Helper()
	email := strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@" + strings.ToLower(country) + ".example.org"
	tok := tm.MustUser(email, engine.RoleApplicant, country, name)
	return &city{Email: email, Name: name, Country: country, Field: field, Token: tok}
}

// startDossier creates the city's draft in the call and checks what a city
// checks: 201, a draft at version 1, its own city and field.
func (tm *TestMain) startDossier(c *city, callID string) {
	tm.tb.Helper()
	body := map[string]string{"city": c.Name, "country": c.Country, "field": c.Field, "language": "en"}
	tm.MustDo(201, "POST", "/api/v1/calls/"+callID+"/applications", c.Token, body, &c.Dossier)
	d := c.Dossier
	if d.State != "draft" || d.Version != 1 || d.City != c.Name || d.Country != c.Country || d.Field != c.Field || d.Call != callID || d.ID == "" {
		tm.tb.Fatalf("created dossier %+v, want a version 1 draft of %s (%s, %s) in %s", d, c.Name, c.Country, c.Field, callID)
	}
}

// submitDossier creates, completes and submits the city's dossier.
func (tm *TestMain) submitDossier(c *city, callID string) {
	tm.tb.Helper()
	tm.startDossier(c, callID)
	tm.MustDo(200, "PUT", "/api/v1/applications/"+c.Dossier.ID, c.Token, completeDraft(c.Dossier.Version, c.Name), &c.Dossier)
	tm.move(c.Token, &c.Dossier, "submit", "", "submitted")
}

// move fires event on d as the holder of token, which must succeed and
// leave d in state want at the next version; d is updated.
func (tm *TestMain) move(token string, d *Dossier, event, note, want string) {
	tm.tb.Helper()
	var got Dossier
	tm.MustDo(200, "POST", "/api/v1/applications/"+d.ID+"/transitions", token, map[string]string{"event": event, "note": note}, &got)
	if got.State != want || got.Version != d.Version+1 || got.ID != d.ID {
		tm.tb.Fatalf("%s on %s (v%d): got %s v%d, want %s v%d", event, d.ID, d.Version, got.State, got.Version, want, d.Version+1)
	}
	*d = got
}

// dossier reads a dossier back.
func (tm *TestMain) dossier(id, token string) Dossier {
	tm.tb.Helper()
	var d Dossier
	tm.MustDo(200, "GET", "/api/v1/applications/"+id, token, nil, &d)
	return d
}

// history reads a dossier's history.
func (tm *TestMain) history(id, token string) []Event {
	tm.tb.Helper()
	var h struct{ Items []Event }
	tm.MustDo(200, "GET", "/api/v1/applications/"+id+"/history", token, nil, &h)
	return h.Items
}

// listAll follows next_cursor from the first page of query to the last and
// returns every dossier in the order the pages gave them.
func (tm *TestMain) listAll(query, token string) []Dossier {
	tm.tb.Helper()
	var all []Dossier
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			tm.tb.Fatalf("list %s: no last page after 1000 pages", query)
		}
		path := "/api/v1/applications?" + query
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var p Page
		tm.MustDo(200, "GET", path, token, nil, &p)
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			return all
		}
		cursor = p.NextCursor
	}
}

// ids are the ids of ds, in order.
func ids(ds []Dossier) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// sameIDs reports, for a failure message, whether got lists exactly want
// (in any order).
func sameIDs(got, want []string) error {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		return fmt.Errorf("got %d dossiers %v, want %d %v", len(got), got, len(want), want)
	}
	return nil
}

// jsonOf is v as JSON, to edit a valid body into an invalid one.
func jsonOf(tb testing.TB, v any) []byte {
	tb.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}
