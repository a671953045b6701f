package main

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The error contract: every code with its one status, in the documented
// shape, and for every refused write the stored data as it was.

// errorsFixture is a running server with an open call "errs", the
// secretariat and the French commission signed in.
type errorsFixture struct {
	*TestMain
	secretariat, commission string
}

func newErrorsFixture(t *testing.T) *errorsFixture {
	tm := MustRunMain(t, false)
	f := &errorsFixture{
		TestMain:    tm,
		secretariat: tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", ""),
		commission:  tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", ""),
	}
	tm.MustDo(201, "POST", "/api/v1/calls", f.secretariat, callBody("errs"), nil)
	return f
}

// fieldNames are the keys of an error's fields, sorted.
func fieldNames(e APIError) []string { return slices.Sorted(maps.Keys(e.Error.Fields)) }

func TestAPI_Errors_MalformedBodies(t *testing.T) {
	f := newErrorsFixture(t)
	tours := f.newCity("Tours", "FR", "Film")
	f.startDossier(tours, "errs")
	dossier := "/api/v1/applications/" + tours.Dossier.ID
	calls := f.Raw("/api/v1/calls", "")
	saved := f.Raw(dossier, tours.Token)

	// Malformed JSON, cut short, empty, or followed by more: 400, no fields.
	for _, body := range []string{`{"id" "x"}`, `{"id": "x",`, ``, `{} {}`, `[]`} {
		e := f.MustFail(400, "invalid", "POST", "/api/v1/calls", f.secretariat, body)
		if len(e.Error.Fields) != 0 {
			t.Errorf("body %q: fields %v, want none", body, e.Error.Fields)
		}
	}
	f.MustUnchanged("/api/v1/calls", "", calls)

	// A field the API does not know is named, not ignored.
	caen := f.newCity("Caen", "FR", "Music")
	e := f.MustFail(400, "invalid", "POST", "/api/v1/calls/errs/applications", caen.Token,
		map[string]string{"city": "Caen", "country": "FR", "field": "Music", "language": "fr", "colour": "blue"})
	if !slices.Equal(fieldNames(e), []string{"colour"}) {
		t.Errorf("unknown field: fields %v, want colour", e.Error.Fields)
	}
	var mine Page
	f.MustDo(200, "GET", "/api/v1/applications", caen.Token, nil, &mine)
	if len(mine.Items) != 0 {
		t.Fatalf("a refused create left %d dossiers", len(mine.Items))
	}

	// A value of the wrong type is named by its JSON path.
	e = f.MustFail(400, "invalid", "PUT", dossier, tours.Token, `{"version": "1"}`)
	if !slices.Equal(fieldNames(e), []string{"version"}) {
		t.Errorf("string version: fields %v, want version", e.Error.Fields)
	}
	e = f.MustFail(400, "invalid", "PUT", dossier, tours.Token, `{"version": 1, "contacts": {"mayor": {"name": 42}}}`)
	if !slices.Equal(fieldNames(e), []string{"contacts.mayor.name"}) {
		t.Errorf("numeric name: fields %v, want contacts.mayor.name", e.Error.Fields)
	}
	f.MustFail(400, "invalid", "POST", "/api/v1/calls", f.secretariat, strings.Replace(string(jsonOf(t, callBody("x"))), `"30m"`, `"half an hour"`, 1))
	f.MustFail(400, "invalid", "POST", "/api/v1/calls", f.secretariat, strings.Replace(string(jsonOf(t, callBody("x"))), callDeadline.Format(time.RFC3339), "30/04/2027", 1))

	// Bodies are capped at 1 MiB.
	big := `{"version": 1, "sections": {"vision": "` + strings.Repeat("word ", (1<<20)/5+10) + `"}}`
	f.MustFail(413, "too_large", "PUT", dossier, tours.Token, big)
	f.MustUnchanged(dossier, tours.Token, saved)
	f.MustUnchanged("/api/v1/calls", "", calls)
}

func TestAPI_Errors_Authentication(t *testing.T) {
	f := newErrorsFixture(t)
	lens := f.newCity("Lens", "FR", "Design")
	f.startDossier(lens, "errs")
	saved := f.Raw("/api/v1/applications/"+lens.Dossier.ID, lens.Token)

	// No token on a route that needs one.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/applications"},
		{"GET", "/api/v1/applications/" + lens.Dossier.ID},
		{"POST", "/api/v1/calls/errs/applications"},
		{"POST", "/api/v1/applications/" + lens.Dossier.ID + "/transitions"},
	} {
		var body any
		if r.method == "POST" {
			body = map[string]string{"city": "Lens", "country": "FR", "field": "Design", "language": "fr"}
			if strings.HasSuffix(r.path, "transitions") {
				body = map[string]string{"event": "submit"}
			}
		}
		res := f.MustSend(r.method, r.path, "", body)
		MustAPIError(t, res, 401, "unauthorized")
		if res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", r.method, r.path)
		}
	}
	f.MustFail(401, "unauthorized", "POST", "/api/v1/calls", "", callBody("anon"))

	// A bad token is refused even where the public may read, so that a
	// client learns its session ended.
	bad := strings.Repeat("A", 43)
	f.MustFail(401, "unauthorized", "GET", "/api/v1/applications", bad, nil)
	f.MustFail(401, "unauthorized", "GET", "/api/v1/calls", "nonsense", nil)
	res := f.MustSend("GET", "/api/v1/calls", "", nil)
	if res.Status != 200 {
		t.Fatalf("public GET /calls: %d", res.Status)
	}
	f.MustUnchanged("/api/v1/applications/"+lens.Dossier.ID, lens.Token, saved)
	var calls struct{ Items []Call }
	f.MustDo(200, "GET", "/api/v1/calls", "", nil, &calls)
	if len(calls.Items) != 1 || calls.Items[0].ID != "errs" {
		t.Fatalf("calls after refused anonymous create: %+v", calls.Items)
	}
}

func TestAPI_Errors_AccessIsScoped(t *testing.T) {
	f := newErrorsFixture(t)
	calls := f.Raw("/api/v1/calls", "")
	albi := f.newCity("Albi", "FR", "Film")
	f.startDossier(albi, "errs")
	draft := "/api/v1/applications/" + albi.Dossier.ID
	saved := f.Raw(draft, albi.Token)

	// An applicant cannot configure calls.
	f.MustFail(403, "forbidden", "POST", "/api/v1/calls", albi.Token, callBody("mine"))
	f.MustFail(403, "forbidden", "POST", "/api/v1/calls/errs/transitions", albi.Token, map[string]string{"event": "close"})
	f.MustUnchanged("/api/v1/calls", "", calls)

	// A draft is its city's own business: another city, the commission and
	// the secretariat are told it does not exist, whatever they try.
	pau := f.newCity("Pau", "FR", "Music")
	for _, tok := range []string{pau.Token, f.commission, f.secretariat} {
		f.MustFail(404, "not_found", "GET", draft, tok, nil)
		f.MustFail(404, "not_found", "GET", draft+"/history", tok, nil)
		f.MustFail(404, "not_found", "PUT", draft, tok, completeDraft(1, "Pau"))
		f.MustFail(404, "not_found", "POST", draft+"/transitions", tok, map[string]string{"event": "withdraw"})
		var p Page
		f.MustDo(200, "GET", "/api/v1/applications", tok, nil, &p)
		if len(p.Items) != 0 {
			t.Errorf("someone else's listing shows Albi's draft: %+v", p.Items)
		}
	}
	f.MustUnchanged(draft, albi.Token, saved)
	f.MustFail(404, "not_found", "GET", "/api/v1/applications/0000000000000000", albi.Token, nil)
	f.MustFail(404, "not_found", "GET", "/api/v1/applications/not-an-id", albi.Token, nil)
	f.MustFail(404, "not_found", "GET", "/api/v1/calls/nope", "", nil)

	// An applicant starts dossiers for its own city only, once per call.
	f.MustFail(403, "forbidden", "POST", "/api/v1/calls/errs/applications", pau.Token,
		map[string]string{"city": "Albi", "country": "FR", "field": "Film", "language": "fr"})
	f.MustFail(409, "conflict", "POST", "/api/v1/calls/errs/applications", albi.Token,
		map[string]string{"city": "Albi", "country": "FR", "field": "Music", "language": "fr"})
	f.MustFail(409, "conflict", "POST", "/api/v1/calls", f.secretariat, callBody("errs"))
	f.MustFail(404, "not_found", "POST", "/api/v1/calls/nope/applications", pau.Token,
		map[string]string{"city": "Pau", "country": "FR", "field": "Music", "language": "fr"})
	f.MustUnchanged("/api/v1/calls", "", calls)
	f.MustUnchanged(draft, albi.Token, saved)

	// Once submitted, the commission sees it but a city cannot endorse
	// itself, and another country's commission does not see it.
	f.MustDo(200, "PUT", draft, albi.Token, completeDraft(1, "Albi"), &albi.Dossier)
	f.move(albi.Token, &albi.Dossier, "submit", "", "submitted")
	saved = f.Raw(draft, albi.Token)
	f.MustFail(403, "forbidden", "POST", draft+"/transitions", albi.Token, map[string]string{"event": "endorse"})
	f.MustFail(403, "forbidden", "POST", draft+"/transitions", f.secretariat, map[string]string{"event": "endorse"})
	commissionPT := f.MustUser("commission-pt@example.org", engine.RoleCommission, "PT", "")
	f.MustFail(404, "not_found", "POST", draft+"/transitions", commissionPT, map[string]string{"event": "endorse"})
	e := f.MustFail(400, "invalid", "POST", draft+"/transitions", f.commission, map[string]string{"event": "bless"})
	if e.Error.Fields["event"] == "" {
		t.Errorf("unknown event: fields %v, want event", e.Error.Fields)
	}
	f.MustUnchanged(draft, albi.Token, saved)
	f.MustDo(200, "GET", draft, f.commission, nil, nil)
	f.MustDo(200, "GET", draft, f.secretariat, nil, nil)
}

func TestAPI_Errors_DraftRules(t *testing.T) {
	f := newErrorsFixture(t)
	dole := f.newCity("Dole", "FR", "Gastronomy")
	f.startDossier(dole, "errs")
	draft := "/api/v1/applications/" + dole.Dossier.ID

	// Saving over a word limit is allowed, and keeps every word.
	long := strings.TrimSpace(strings.Repeat("word ", 15)) // plan allows 10
	body := map[string]any{"version": 1, "sections": map[string]string{"plan": long},
		"contacts": map[string]any{
			"mayor":          map[string]string{"name": "Mayor of Dole", "email": "mayor@dole.example.org", "phone": "+33 3 84 79 79 79"},
			"representative": map[string]string{"name": "Deputy of Dole", "email": "deputy@dole.example.org"},
		}}
	f.MustDo(200, "PUT", draft, dole.Token, body, &dole.Dossier)
	if d := f.dossier(dole.Dossier.ID, dole.Token); d.Version != 2 || d.Sections["plan"] != long {
		t.Fatalf("draft over its word limit: v%d plan %q, want v2 with the text kept", d.Version, d.Sections["plan"])
	}
	saved := f.Raw(draft, dole.Token)

	// Submitting it says everything that is missing, by field.
	e := f.MustFail(422, "incomplete", "POST", draft+"/transitions", dole.Token, map[string]string{"event": "submit"})
	want := []string{"contacts.main.email", "contacts.main.name", "contacts.main.phone", "contacts.representative.phone", "sections.plan", "sections.vision"}
	if got := fieldNames(e); !slices.Equal(got, want) {
		t.Errorf("incomplete submit: fields %v, want %v", got, want)
	}
	if !strings.Contains(e.Error.Fields["sections.plan"], "15") {
		t.Errorf("sections.plan: %q does not say how many words", e.Error.Fields["sections.plan"])
	}
	f.MustUnchanged(draft, dole.Token, saved)

	// Saving at a version already replaced is refused and changes nothing.
	f.MustFail(409, "stale_version", "PUT", draft, dole.Token, completeDraft(1, "Dole"))
	f.MustUnchanged(draft, dole.Token, saved)
	f.MustFail(409, "stale_version", "POST", draft+"/transitions", dole.Token, map[string]any{"event": "withdraw", "version": 1})
	f.MustUnchanged(draft, dole.Token, saved)

	// A submitted dossier cannot be edited.
	f.MustDo(200, "PUT", draft, dole.Token, completeDraft(2, "Dole"), &dole.Dossier)
	var moved Dossier
	f.MustDo(200, "POST", draft+"/transitions", dole.Token, map[string]any{"event": "submit", "version": 3}, &moved)
	if moved.State != "submitted" || moved.Version != 4 {
		t.Fatalf("submit at the current version: %s v%d", moved.State, moved.Version)
	}
	saved = f.Raw(draft, dole.Token)
	f.MustFail(409, "invalid_transition", "PUT", draft, dole.Token, completeDraft(4, "Dole"))
	f.MustFail(409, "invalid_transition", "POST", draft+"/transitions", dole.Token, map[string]string{"event": "submit"})
	f.MustUnchanged(draft, dole.Token, saved)
}

func TestAPI_Errors_InvalidCall(t *testing.T) {
	f := newErrorsFixture(t)
	calls := f.Raw("/api/v1/calls", "")
	cases := []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"deadline before opening", func(b map[string]any) {
			b["submission_deadline"] = callOpens.Add(-time.Hour).Format(time.RFC3339)
		}, "submission_deadline"},
		{"unknown time zone", func(b map[string]any) { b["time_zone"] = "Europe/Atlantis" }, "time_zone"},
		{"unknown language", func(b map[string]any) { b["languages"] = []string{"en", "de"} }, "languages[1]"},
		{"unknown language alone", func(b map[string]any) { b["languages"] = []string{"es"} }, "languages[0]"},
		{"bad id", func(b map[string]any) { b["id"] = "Call 2029" }, "id"},
		{"no word limit", func(b map[string]any) {
			b["sections"] = []map[string]any{{"id": "vision", "title": map[string]string{"en": "Vision", "fr": "Vision"}, "required": true}}
		}, "sections[0].word_limit"},
		{"no French title", func(b map[string]any) {
			b["sections"] = []map[string]any{{"id": "vision", "title": map[string]string{"en": "Vision"}, "word_limit": 5}}
		}, "sections[0].title"},
	}
	for _, c := range cases {
		body := callBody("bad")
		c.edit(body)
		e := f.MustFail(400, "invalid", "POST", "/api/v1/calls", f.secretariat, body)
		if got := fieldNames(e); !slices.Equal(got, []string{c.field}) {
			t.Errorf("%s: fields %v, want exactly %s", c.name, e.Error.Fields, c.field)
		}
	}
	// Problems the form finds and problems of the phases' order come in one
	// answer, so a client fixes them in one round.
	body := callBody("bad")
	body["time_zone"] = "Europe/Atlantis"
	body["submission_deadline"] = callOpens.Add(-time.Hour).Format(time.RFC3339)
	e := f.MustFail(400, "invalid", "POST", "/api/v1/calls", f.secretariat, body)
	if got := fieldNames(e); !slices.Equal(got, []string{"submission_deadline", "time_zone"}) {
		t.Errorf("several problems: fields %v, want submission_deadline and time_zone", e.Error.Fields)
	}
	f.MustUnchanged("/api/v1/calls", "", calls)

	// The same rules hold for an update, and a stale one changes nothing.
	var call Call
	f.MustDo(200, "GET", "/api/v1/calls/errs", "", nil, &call)
	body = callBody("errs")
	body["time_zone"] = "Europe/Atlantis"
	f.MustFail(400, "invalid", "PUT", "/api/v1/calls/errs", f.secretariat, body)
	body = callBody("errs")
	body["title"], body["version"] = "Renamed", call.Version+5
	f.MustFail(409, "stale_version", "PUT", "/api/v1/calls/errs", f.secretariat, body)
	body["id"] = "other"
	f.MustFail(400, "invalid", "PUT", "/api/v1/calls/errs", f.secretariat, body)
	f.MustUnchanged("/api/v1/calls", "", calls)
	body = callBody("errs")
	body["title"], body["version"] = "Renamed", call.Version
	var renamed Call
	f.MustDo(200, "PUT", "/api/v1/calls/errs", f.secretariat, body, &renamed)
	if renamed.Title != "Renamed" || renamed.Version != call.Version+1 || renamed.State != "open" {
		t.Fatalf("updated call %+v", renamed)
	}
}

func TestAPI_Errors_QueriesAndRoutes(t *testing.T) {
	f := newErrorsFixture(t)
	agen := f.newCity("Agen", "FR", "Film")

	e := f.MustFail(400, "invalid", "POST", "/api/v1/calls/errs/applications", agen.Token,
		map[string]string{"city": "Agen", "country": "XX", "field": "Film", "language": "fr"})
	if !slices.Equal(fieldNames(e), []string{"country"}) {
		t.Errorf("unknown country: fields %v, want country", e.Error.Fields)
	}
	e = f.MustFail(400, "invalid", "POST", "/api/v1/calls/errs/applications", agen.Token,
		map[string]string{"city": "Agen", "country": "FR", "field": "Sculpture", "language": "fr"})
	if !slices.Equal(fieldNames(e), []string{"field"}) {
		t.Errorf("field not in the call: fields %v, want field", e.Error.Fields)
	}
	var p Page
	f.MustDo(200, "GET", "/api/v1/applications", agen.Token, nil, &p)
	if len(p.Items) != 0 {
		t.Fatalf("refused creates left dossiers: %+v", p.Items)
	}

	for q, field := range map[string]string{
		"limit=abc": "limit", "limit=0": "limit", "limit=501": "limit",
		"state=happy": "state", "country=France": "country", "call=Not%20A%20Slug": "call",
		"cursor=../../etc": "cursor",
	} {
		e := f.MustFail(400, "invalid", "GET", "/api/v1/applications?"+q, f.secretariat, nil)
		if !slices.Equal(fieldNames(e), []string{field}) {
			t.Errorf("?%s: fields %v, want %s", q, e.Error.Fields, field)
		}
	}

	for _, path := range []string{"/api/v1/nope", "/api/v2/calls", "/api/", "/api/v1/calls/errs/nope"} {
		f.MustFail(404, "not_found", "GET", path, "", nil)
	}
	for _, r := range []struct{ method, path string }{
		{"DELETE", "/api/v1/calls/errs"},
		{"PATCH", "/api/v1/applications/0000000000000000"},
		{"GET", "/api/v1/login"},
		{"PUT", "/api/v1/calls"},
		{"POST", "/healthz"},
	} {
		f.MustFail(405, "method_not_allowed", r.method, r.path, f.secretariat, nil)
	}
	if !bytes.Contains(f.Raw("/api/v1/calls/errs", ""), []byte(`"state":"open"`)) {
		t.Fatal("the call changed state after refused requests")
	}
}
