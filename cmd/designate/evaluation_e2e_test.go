package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// One call from its opening to its announcement, over HTTP, with the real
// server delivering its e-mails to a real SMTP server in the test (see
// mail_test.go): cities in two creative fields and four countries submit,
// their commissions endorse, the secretariat accepts after the close and
// has every dossier evaluated by two experts and a member city of the
// field; a conflict of interest is declared and the evaluator replaced;
// reviews are drafted, made final, and frozen at the deadline; the
// secretariat reads the assessments and the rankings and recommends; the
// announcement designates; results, calendar, exports and e-mails agree.
// The clock is the test's: deadlines pass when the test moves it, never by
// waiting.

// eeEvaluator is an evaluator account as the test signs it in.
type eeEvaluator struct {
	rvAccount
	Country, City string
}

// eeReview is what one evaluator makes final on one dossier, with the
// weighted mean worked out by hand (weights 2, 2, 3, 1, 2; sum 10).
type eeReview struct {
	By     *eeEvaluator
	Kind   string
	Scores map[string]int
	Rec    string
	Mean   float64
}

// eeExpect is what the secretariat must read of one dossier's assessment.
type eeExpect struct {
	Mean, Spread  float64
	Disagree      bool
	Recommend, No int
}

// eeEvaluatorOf makes an evaluator account (a member city names its city)
// and signs it in.
func eeEvaluatorOf(tm *TestMain, email, country, city, field string) *eeEvaluator {
	tm.tb.Helper()
	token := tm.MustAccount(engine.NewUser{Email: email, Role: engine.RoleEvaluator, Country: country, City: city, Field: field})
	ev := &eeEvaluator{rvAccount: rvAccount{Email: email, Token: token}, Country: country, City: city}
	var me struct{ ID string }
	tm.MustDo(200, "GET", "/api/v1/me", ev.Token, nil, &me)
	ev.ID = me.ID
	return ev
}

// eeAssign assigns the evaluator to the dossier, which must be accepted
// with the assignment the API documents.
func eeAssign(t *testing.T, tm *TestMain, secretariat string, d Dossier, ev *eeEvaluator, kind string) {
	t.Helper()
	var a engine.Assignment
	tm.MustDo(201, "POST", "/api/v1/applications/"+d.ID+"/assignments", secretariat, map[string]string{"evaluator": ev.ID, "kind": kind}, &a)
	if a.Application != d.ID || a.Evaluator != ev.ID || a.Email != ev.Email || a.Kind != kind || a.By != "secretariat@example.org" || !a.At.Equal(tm.Clock.Now()) {
		t.Fatalf("assignment of %s to %s: %+v", ev.Email, d.City, a)
	}
}

// eeAssignments are the dossier's evaluators, by e-mail, with their kinds.
func eeAssignments(t *testing.T, tm *TestMain, secretariat string, d Dossier) map[string]string {
	t.Helper()
	var l struct{ Items []engine.Assignment }
	tm.MustDo(200, "GET", "/api/v1/applications/"+d.ID+"/assignments", secretariat, nil, &l)
	out := map[string]string{}
	for _, a := range l.Items {
		out[a.Email] = a.Kind
	}
	return out
}

// eeNear reports whether two means agree to the cent.
func eeNear(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// eeUnfold is an iCalendar feed's content lines, unfolded.
func eeUnfold(t *testing.T, raw []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Fatalf("the feed does not end with CRLF")
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("feed line of %d octets: %q", len(l), l)
		}
		if strings.HasPrefix(l, " ") && len(out) > 0 {
			out[len(out)-1] += l[1:]
			continue
		}
		out = append(out, l)
	}
	return out
}

// eeResultsCity finds the cities an HTML results page lists, in its order.
var eeResultsCity = regexp.MustCompile(`<dd>([^<]*)</dd>`)

func TestEvaluation_EndToEnd_OpeningToAnnouncement(t *testing.T) {
	wall := time.Now()
	e := mlStart(t, true)
	tm := e.tm
	const callID = "uccn-2027"
	const title = "Creative Cities 2027"
	body := callBody(callID)
	body["title"] = title
	body["review"] = rvReviewForm()
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, body, nil)
	paths := struct{ results, resultsPage, calendar, exportApps, exportReviews, release, ranking string }{
		"/api/v1/calls/" + callID + "/results", "/calls/" + callID + "/results", "/calls/" + callID + "/calendar.ics",
		"/api/v1/calls/" + callID + "/export/applications", "/api/v1/calls/" + callID + "/export/reviews",
		"/api/v1/calls/" + callID + "/results/release", "/api/v1/calls/" + callID + "/ranking?field=",
	}

	// The cities, two fields, four countries; one commission each.
	order := []string{"Lyon", "Porto", "Bilbao", "Dijon", "Braga", "Alba"}
	cities := map[string]*city{}
	for _, s := range [][3]string{
		{"Lyon", "FR", "Film"}, {"Porto", "PT", "Film"}, {"Bilbao", "ES", "Film"},
		{"Dijon", "FR", "Gastronomy"}, {"Braga", "PT", "Gastronomy"}, {"Alba", "IT", "Gastronomy"},
	} {
		cities[s[0]] = tm.newCity(s[0], s[1], s[2])
	}
	commissions := map[string]string{}
	commissionOf := map[string]mlReader{}
	for _, country := range []string{"FR", "PT", "ES", "IT"} {
		email := "commission@" + strings.ToLower(country) + ".example.org"
		commissions[country] = tm.MustUser(email, engine.RoleCommission, country, "")
		commissionOf[country] = mlReader{email, "en"}
	}
	all := func() []*city {
		var out []*city
		for _, n := range order {
			out = append(out, cities[n])
		}
		return out
	}

	// Open: every city submits; its commission endorses it.
	for _, c := range all() {
		tm.submitDossier(c, callID)
	}
	for _, c := range all() {
		tm.move(commissions[c.Country], &c.Dossier, "endorse", "", "endorsed")
	}
	e.waitMails(6*2+6+6*2, nil)
	for _, p := range []string{paths.results, paths.results + "?format=csv"} {
		tm.MustFail(404, "not_found", "GET", p, "", nil)
	}

	// Closed: the secretariat accepts every dossier and starts its
	// evaluation.
	tm.Advance(callClose.Add(time.Minute))
	e.relogin(all()...)
	for _, c := range all() {
		tm.move(e.secretariat, &c.Dossier, "accept", "", "eligible")
		tm.move(e.secretariat, &c.Dossier, "start_evaluation", "", "under_evaluation")
	}
	e.waitMails(30+6*2, nil)

	// The evaluators: four experts, and member cities of each field, each
	// of a country of its own.
	cn := eeEvaluatorOf(tm, "expert@cn.example.org", "CN", "", "")
	br := eeEvaluatorOf(tm, "expert@br.example.org", "BR", "", "")
	ke := eeEvaluatorOf(tm, "expert@ke.example.org", "KE", "", "")
	jp := eeEvaluatorOf(tm, "expert@jp.example.org", "JP", "", "")
	busan := eeEvaluatorOf(tm, "busan@kr.example.org", "KR", "Busan", "Film")
	parma := eeEvaluatorOf(tm, "parma@it.example.org", "IT", "Parma", "Gastronomy")
	tucson := eeEvaluatorOf(tm, "tucson@us.example.org", "US", "Tucson", "Gastronomy")

	// Parma would assess Alba, a city of its own country: refused, and
	// nothing is assigned.
	alba := cities["Alba"]
	refused := tm.MustFail(409, "conflict", "POST", "/api/v1/applications/"+alba.Dossier.ID+"/assignments", e.secretariat,
		map[string]string{"evaluator": parma.ID, "kind": "member_city"})
	if !strings.Contains(refused.Error.Message, "IT") || !strings.Contains(refused.Error.Message, parma.Email) {
		t.Errorf("the own-country refusal %q names neither the country nor the evaluator", refused.Error.Message)
	}
	if got := eeAssignments(t, tm, e.secretariat, alba.Dossier); len(got) != 0 {
		t.Fatalf("Alba's evaluators after the refusal: %v", got)
	}

	// Two experts and a member city of the field per dossier.
	const expert, member = "expert", "member_city"
	plan := map[string][]eeReview{
		"Lyon": {
			{By: cn, Kind: expert, Scores: rvScores(5, 5, 5, 4, 5), Rec: "recommend", Mean: 4.9},
			{By: br, Kind: expert, Scores: rvScores(4, 5, 4, 4, 4), Rec: "recommend", Mean: 4.2},
			{By: busan, Kind: member, Scores: rvScores(5, 4, 5, 5, 4), Rec: "recommend", Mean: 4.6},
		},
		"Porto": { // BR declares a conflict; JP replaces it
			{By: cn, Kind: expert, Scores: rvScores(2, 2, 2, 2, 2), Rec: "do_not_recommend", Mean: 2},
			{By: br, Kind: expert},
			{By: busan, Kind: member, Scores: rvScores(4, 4, 3, 4, 4), Rec: "recommend", Mean: 3.7},
		},
		"Bilbao": {
			{By: ke, Kind: expert, Scores: rvScores(3, 3, 3, 3, 3), Rec: "do_not_recommend", Mean: 3},
			{By: jp, Kind: expert, Scores: rvScores(3, 4, 3, 2, 3), Rec: "do_not_recommend", Mean: 3.1},
			{By: busan, Kind: member, Scores: rvScores(2, 3, 3, 3, 2), Rec: "do_not_recommend", Mean: 2.6},
		},
		"Dijon": {
			{By: cn, Kind: expert, Scores: rvScores(4, 4, 4, 4, 4), Rec: "recommend", Mean: 4},
			{By: ke, Kind: expert, Scores: rvScores(4, 5, 4, 3, 4), Rec: "recommend", Mean: 4.1},
			{By: parma, Kind: member, Scores: rvScores(5, 4, 4, 4, 4), Rec: "recommend", Mean: 4.2},
		},
		"Braga": {
			{By: br, Kind: expert, Scores: rvScores(3, 3, 4, 3, 3), Rec: "do_not_recommend", Mean: 3.3},
			{By: jp, Kind: expert, Scores: rvScores(4, 3, 3, 3, 4), Rec: "recommend", Mean: 3.4},
			{By: parma, Kind: member, Scores: rvScores(3, 3, 3, 3, 3), Rec: "do_not_recommend", Mean: 3},
		},
		"Alba": {
			{By: ke, Kind: expert, Scores: rvScores(5, 4, 5, 4, 5), Rec: "recommend", Mean: 4.7},
			{By: br, Kind: expert, Scores: rvScores(4, 4, 5, 5, 4), Rec: "recommend", Mean: 4.4},
			{By: tucson, Kind: member, Scores: rvScores(5, 5, 4, 4, 5), Rec: "recommend", Mean: 4.6},
		},
	}
	for _, name := range order {
		d := cities[name].Dossier
		for _, r := range plan[name] {
			eeAssign(t, tm, e.secretariat, d, r.By, r.Kind)
		}
		if got := eeAssignments(t, tm, e.secretariat, d); len(got) != 3 || got[plan[name][2].By.Email] != member {
			t.Fatalf("%s's evaluators %v, want two experts and a member city", name, got)
		}
	}

	// Each evaluator drafts first: version 1, not final, no mean yet.
	draft := func(name string, ev *eeEvaluator) {
		t.Helper()
		var rv rvReview
		tm.MustDo(200, "PUT", "/api/v1/applications/"+cities[name].Dossier.ID+"/review", ev.Token,
			map[string]any{"scores": map[string]int{"commitment": 3, "assets": 3}, "comment": "First reading.", "version": 0}, &rv)
		if rv.Version != 1 || rv.Final || rv.Mean != nil || rv.Evaluator != ev.ID {
			t.Fatalf("%s's draft of %s: %+v", ev.Email, name, rv)
		}
	}
	for _, name := range order {
		for _, r := range plan[name] {
			draft(name, r.By)
		}
	}

	// BR declares a conflict of interest on Porto: recorded with its
	// reason, its draft and its assignment gone, and BR cannot be assigned
	// Porto again; JP replaces it.
	porto := cities["Porto"]
	const reason = "I advised Porto's municipality on its cultural strategy in 2025."
	var conflict rvConflict
	tm.MustDo(201, "POST", "/api/v1/applications/"+porto.Dossier.ID+"/conflict", br.Token, map[string]string{"reason": reason}, &conflict)
	if conflict.Evaluator != br.ID || conflict.Email != br.Email || conflict.Reason != reason || conflict.Application != porto.Dossier.ID {
		t.Fatalf("conflict %+v", conflict)
	}
	if got := eeAssignments(t, tm, e.secretariat, porto.Dossier); len(got) != 2 || got[br.Email] != "" {
		t.Fatalf("Porto's evaluators after the conflict: %v", got)
	}
	tm.MustFail(404, "not_found", "GET", "/api/v1/applications/"+porto.Dossier.ID, br.Token, nil)
	again := tm.MustFail(409, "conflict", "POST", "/api/v1/applications/"+porto.Dossier.ID+"/assignments", e.secretariat,
		map[string]string{"evaluator": br.ID, "kind": expert})
	if !strings.Contains(again.Error.Message, reason) {
		t.Errorf("the re-assignment refusal %q does not give the reason", again.Error.Message)
	}
	var portoAssessment rvAssessment
	tm.MustDo(200, "GET", "/api/v1/applications/"+porto.Dossier.ID+"/assessment", e.secretariat, nil, &portoAssessment)
	if len(portoAssessment.Conflicts) != 1 || portoAssessment.Conflicts[0] != conflict || len(portoAssessment.Reviews) != 2 ||
		slices.ContainsFunc(portoAssessment.Reviews, func(r rvReview) bool { return r.Evaluator == br.ID }) {
		t.Fatalf("Porto's assessment after the conflict: %+v", portoAssessment)
	}
	plan["Porto"][1] = eeReview{By: jp, Kind: expert, Scores: rvScores(5, 5, 5, 5, 5), Rec: "recommend", Mean: 5}
	eeAssign(t, tm, e.secretariat, porto.Dossier, jp, expert)
	draft("Porto", jp)

	// The final reviews, each at the version its draft left, with the
	// weighted mean worked out by hand.
	for _, name := range order {
		for _, r := range plan[name] {
			var rv rvReview
			b := rvFinal(r.Scores, r.Rec)
			b["version"] = 1
			b["comment"] = fmt.Sprintf("%s on %s: considered.", r.By.Email, name)
			tm.MustDo(200, "PUT", "/api/v1/applications/"+cities[name].Dossier.ID+"/review", r.By.Token, b, &rv)
			if rv.Version != 2 || !rv.Final || !rvNear(rv.Mean, r.Mean) || rv.Kind != r.Kind {
				t.Fatalf("%s's final review of %s: %+v, want version 2, mean %v, kind %s", r.By.Email, name, rv, r.Mean, r.Kind)
			}
		}
	}

	// After the evaluation deadline no review changes, nor is a conflict
	// declared.
	tm.Advance(callEvaluate.Add(time.Minute))
	e.relogin()
	cn.Token = tm.MustLogin(cn.Email, testPassword)
	lyonReview := "/api/v1/applications/" + cities["Lyon"].Dossier.ID + "/review"
	frozen := tm.Raw(lyonReview, cn.Token)
	late := rvFinal(rvScores(1, 1, 1, 1, 1), "do_not_recommend")
	late["version"] = 2
	tm.MustFail(409, "deadline_passed", "PUT", lyonReview, cn.Token, late)
	tm.MustFail(409, "deadline_passed", "POST", "/api/v1/applications/"+cities["Lyon"].Dossier.ID+"/conflict", cn.Token, map[string]string{"reason": "Too late."})
	tm.MustUnchanged(lyonReview, cn.Token, frozen)

	// The secretariat reads the assessments: means of the final reviews'
	// weighted means, the spread, a strong disagreement (a spread of 4/3 of
	// a point or more) on Porto only.
	want := map[string]eeExpect{
		"Lyon":   {Mean: 4.57, Spread: 0.7, Recommend: 3},                      // (4.9+4.2+4.6)/3
		"Porto":  {Mean: 3.57, Spread: 3, Disagree: true, Recommend: 2, No: 1}, // (2+5+3.7)/3
		"Bilbao": {Mean: 2.9, Spread: 0.5, No: 3},                              // (3+3.1+2.6)/3
		"Dijon":  {Mean: 4.1, Spread: 0.2, Recommend: 3},                       // (4+4.1+4.2)/3
		"Braga":  {Mean: 3.23, Spread: 0.4, Recommend: 1, No: 2},               // (3.3+3.4+3)/3
		"Alba":   {Mean: 4.57, Spread: 0.3, Recommend: 3},                      // (4.7+4.4+4.6)/3
	}
	for _, name := range order {
		var a struct {
			rvAssessment
			Recommend int `json:"recommend"`
			No        int `json:"do_not_recommend"`
		}
		tm.MustDo(200, "GET", "/api/v1/applications/"+cities[name].Dossier.ID+"/assessment", e.secretariat, nil, &a)
		w := want[name]
		if a.Final != 3 || len(a.Reviews) != 3 || !rvNear(a.Mean, w.Mean) || !eeNear(a.Spread, w.Spread) || a.Disagree != w.Disagree ||
			a.Recommend != w.Recommend || a.No != w.No {
			t.Errorf("%s's assessment: mean %v, spread %v, disagreement %v, %d final, %d/%d recommend; want %+v",
				name, a.Mean, a.Spread, a.Disagree, a.Final, a.Recommend, a.No, w)
		}
		for _, r := range plan[name] {
			if !slices.ContainsFunc(a.Reviews, func(rv rvReview) bool {
				return rv.Evaluator == r.By.ID && rv.Kind == r.Kind && rv.Final && rvNear(rv.Mean, r.Mean) && rv.Recommendation == r.Rec
			}) {
				t.Errorf("%s's assessment lacks %s's final review (mean %v): %+v", name, r.By.Email, r.Mean, a.Reviews)
			}
		}
		if (len(a.Conflicts) == 1) != (name == "Porto") {
			t.Errorf("%s's conflicts: %+v", name, a.Conflicts)
		}
	}

	// The rankings, by mean, highest first.
	for field, wantOrder := range map[string][]string{"Film": {"Lyon", "Porto", "Bilbao"}, "Gastronomy": {"Alba", "Dijon", "Braga"}} {
		var rk rvRanking
		tm.MustDo(200, "GET", paths.ranking+field, e.secretariat, nil, &rk)
		var got []string
		for i, it := range rk.Items {
			got = append(got, it.Application.City)
			if it.Rank != i+1 || !rvNear(it.Mean, want[it.Application.City].Mean) || it.Final != 3 {
				t.Errorf("%s ranking, line %d: %s ranked %d with mean %v and %d final reviews", field, i+1, it.Application.City, it.Rank, it.Mean, it.Final)
			}
		}
		if !slices.Equal(got, wantOrder) {
			t.Errorf("%s ranking %v, want %v", field, got, wantOrder)
		}
	}

	// The top two of each field are recommended, the last not.
	recommended := []string{"Lyon", "Porto", "Alba", "Dijon"}
	for _, name := range order {
		if slices.Contains(recommended, name) {
			tm.move(e.secretariat, &cities[name].Dossier, "recommend", "", "recommended")
		} else {
			tm.move(e.secretariat, &cities[name].Dossier, "not_recommend", "", "not_recommended")
		}
	}

	// Before the announcement: no results, no release.
	tm.Advance(callAnnounce.Add(-time.Minute))
	e.relogin()
	outboxBefore := tm.Raw("/api/v1/outbox?limit=500", e.secretariat)
	tm.MustFail(409, "invalid_transition", "POST", paths.release, e.secretariat, nil)
	tm.MustUnchanged("/api/v1/outbox?limit=500", e.secretariat, outboxBefore)
	tm.MustFail(404, "not_found", "GET", paths.results, "", nil)
	if r := tm.MustSend("GET", paths.resultsPage, "", nil); r.Status != 404 {
		t.Errorf("the results page before the announcement: %d", r.Status)
	}

	// The announcement: the recommended are designated, the others not.
	tm.Advance(callAnnounce)
	e.relogin()
	for _, name := range order {
		d := tm.dossier(cities[name].Dossier.ID, e.secretariat)
		wantState := "not_designated"
		if slices.Contains(recommended, name) {
			wantState = "designated"
		}
		if d.State != wantState {
			t.Errorf("%s is %s after the announcement, want %s", name, d.State, wantState)
		}
		cities[name].Dossier = d
	}
	var call Call
	tm.MustDo(200, "GET", "/api/v1/calls/"+callID, "", nil, &call)
	if call.State != "announced" || call.AnnouncedAt == nil || !call.AnnouncedAt.Equal(callAnnounce) {
		t.Errorf("the call is %s, announced at %v; want announced at %s", call.State, call.AnnouncedAt, callAnnounce)
	}
	if held := e.outbox("held"); len(held) != 6 {
		t.Errorf("%d results held at the announcement, want 6", len(held))
	}

	// The public results: exactly the designated cities, by field, country
	// and city, on the page, in the API and in the CSV.
	designated := []string{"Lyon", "Porto", "Dijon", "Alba"} // Film FR, Film PT, Gastronomy FR, Gastronomy IT
	page := tm.MustSend("GET", paths.resultsPage, "", nil)
	if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("the results page: %d %q", page.Status, page.Header.Get("Content-Type"))
	}
	var listed []string
	for _, m := range eeResultsCity.FindAllSubmatch(page.Body, -1) {
		listed = append(listed, string(m[1]))
	}
	if !slices.Equal(listed, designated) {
		t.Errorf("the results page lists %v, want %v", listed, designated)
	}
	var res engine.Results
	tm.MustDo(200, "GET", paths.results, "", nil, &res)
	var apiCities []string
	for _, it := range res.Items {
		apiCities = append(apiCities, it.City)
		if c := cities[it.City]; c == nil || it.Country != c.Country || it.Field != c.Field {
			t.Errorf("result %+v", it)
		}
	}
	if res.Call != callID || !slices.Equal(apiCities, designated) {
		t.Errorf("the results API: %+v, want %v", res, designated)
	}
	r := tm.MustSend("GET", paths.results+"?format=csv", "", nil)
	records, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if r.Status != 200 || err != nil || len(records) != len(designated)+1 || !slices.Equal(records[0], []string{"call", "city", "country", "field"}) {
		t.Fatalf("the results CSV: %d %v\n%s", r.Status, err, r.Body)
	}
	for i, rec := range records[1:] {
		c := cities[designated[i]]
		if !slices.Equal(rec, []string{callID, c.Name, c.Country, c.Field}) {
			t.Errorf("results CSV row %d: %q", i+1, rec)
		}
	}

	// The calendar: the call's six phases, in Paris time.
	r = tm.MustSend("GET", paths.calendar, "", nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("the calendar: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	var starts, uids []string
	for _, l := range eeUnfold(t, r.Body) {
		if v, ok := strings.CutPrefix(l, "DTSTART;TZID=Europe/Paris:"); ok {
			starts = append(starts, v)
		}
		if v, ok := strings.CutPrefix(l, "UID:"); ok {
			uids = append(uids, v)
		}
	}
	var wantStarts, wantUIDs []string
	for i, at := range []time.Time{callOpens, callDeadline, callClose, callEndorseBy, callEvaluate, callAnnounce} {
		wantStarts = append(wantStarts, at.In(paris).Format("20060102T150405"))
		wantUIDs = append(wantUIDs, fmt.Sprintf("%s-phase-%d@designate", callID, i+1))
	}
	if !slices.Equal(starts, wantStarts) || !slices.Equal(uids, wantUIDs) || !bytes.Contains(r.Body, []byte(title)) {
		t.Errorf("the calendar's events start at %v (UIDs %v), want %v (%v)", starts, uids, wantStarts, wantUIDs)
	}

	// The exports: every dossier with its assessment, every final review
	// (the conflicted evaluator's draft gone).
	var ex struct {
		Applications []struct {
			ID         string `json:"id"`
			City       string `json:"city"`
			State      string `json:"state"`
			Assessment struct {
				Final     int          `json:"final_reviews"`
				Mean      *float64     `json:"mean"`
				Conflicts []rvConflict `json:"conflicts"`
			} `json:"assessment"`
		} `json:"applications"`
	}
	tm.MustDo(200, "GET", paths.exportApps, e.secretariat, nil, &ex)
	var exported []string
	for _, a := range ex.Applications {
		exported = append(exported, a.City)
		conflicts := 0
		if a.City == "Porto" {
			conflicts = 1
		}
		if a.State != cities[a.City].Dossier.State || a.Assessment.Final != 3 || !rvNear(a.Assessment.Mean, want[a.City].Mean) ||
			len(a.Assessment.Conflicts) != conflicts {
			t.Errorf("exported %s: %+v", a.City, a)
		}
	}
	slices.Sort(exported)
	if !slices.Equal(exported, slices.Sorted(slices.Values(order))) {
		t.Errorf("the applications export has %v, want every dossier", exported)
	}
	r = tm.MustSend("GET", paths.exportReviews+"?format=csv", e.secretariat, nil)
	records, err = csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if r.Status != 200 || err != nil || len(records) != 1+6*3 {
		t.Fatalf("the reviews export: %d %v, %d records", r.Status, err, len(records))
	}
	type pair struct{ city, evaluator, kind, final, mean string }
	var gotPairs, wantPairs []pair
	for _, rec := range records[1:] {
		gotPairs = append(gotPairs, pair{rec[1], rec[4], rec[5], rec[6], rec[8]})
	}
	for _, name := range order {
		for _, rv := range plan[name] {
			wantPairs = append(wantPairs, pair{name, rv.By.Email, rv.Kind, "true", fmt.Sprintf("%.2f", rv.Mean)})
		}
	}
	cmp := func(a, b pair) int { return strings.Compare(a.city+" "+a.evaluator, b.city+" "+b.evaluator) }
	slices.SortFunc(gotPairs, cmp)
	slices.SortFunc(wantPairs, cmp)
	if !slices.Equal(gotPairs, wantPairs) {
		t.Errorf("the reviews export\n%v\nwant\n%v", gotPairs, wantPairs)
	}
	var exr struct{ Items []json.RawMessage }
	tm.MustDo(200, "GET", paths.exportReviews, e.secretariat, nil, &exr)
	if len(exr.Items) != 18 {
		t.Errorf("the reviews export has %d items as JSON, want 18", len(exr.Items))
	}

	// Released: the six results leave, once.
	var rel struct{ Released int }
	tm.MustDo(200, "POST", paths.release, e.secretariat, nil, &rel)
	if rel.Released != 6 {
		t.Fatalf("released %d, want 6", rel.Released)
	}
	e.waitMails(42+6*2, nil)
	mlWait(t, "the outbox to empty", func() bool { return len(e.outbox("pending")) == 0 }, nil)
	tm.MustDo(200, "POST", paths.release, e.admin, nil, &rel)
	if rel.Released != 0 {
		t.Errorf("the second release released %d, want 0", rel.Released)
	}

	// Exactly the e-mails expected, each once: the receipts and the
	// endorsement requests, the endorsements, the eligibility notices, the
	// results; nothing for the evaluation's own moves.
	got := e.mails()
	var expected []mlCopy
	for _, c := range all() {
		readers := []mlReader{{c.Email, "en"}, {contact(c), "en"}}
		expected = append(expected, e.expect(c.Dossier, "submit", "city", "", readers...)...)
		expected = append(expected, e.expect(c.Dossier, "submit", "commission", "", commissionOf[c.Country])...)
		expected = append(expected, e.expect(c.Dossier, "endorse", "city", "", readers...)...)
		expected = append(expected, e.expect(c.Dossier, "accept", "city", "", readers...)...)
		result := "not_designate"
		if slices.Contains(designated, c.Name) {
			result = "designate"
		}
		expected = append(expected, e.expect(c.Dossier, result, "city", "", readers...)...)
	}
	if len(expected) != 54 {
		t.Fatalf("the test expects %d e-mails; it was written for 54", len(expected))
	}
	e.check(got, expected)
	e.checkOutbox(got, 30)
	for _, m := range got {
		for _, ev := range []*eeEvaluator{cn, br, ke, jp, busan, parma, tucson} {
			if strings.EqualFold(m.To, ev.Email) {
				t.Errorf("an evaluator received %q", m.Subject)
			}
		}
	}
	t.Logf("%d dossiers, %d reviews, %d e-mails checked in %v", len(order), len(records)-1, len(got), time.Since(wall).Round(time.Millisecond))
}

// The calendar feed is written in the reader's language (its account's,
// its cookie's, or Accept-Language's), so a shared cache may keep it only
// per language: a public, cacheable answer must say what it varies on (or
// not be public).
func TestEvaluation_CalendarFeedCachedPerLanguage(t *testing.T) {
	tm := MustRunMain(t, false)
	sec := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", sec, callBody("uccn-ics"), nil)
	bodies := map[string][]byte{}
	for _, lang := range []string{"en", "fr"} {
		req, err := http.NewRequest("GET", tm.URL()+"/calls/uccn-ics/calendar.ics", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", lang)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		bodies[lang], _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		cc := resp.Header.Get("Cache-Control")
		vary := strings.ToLower(strings.Join(resp.Header.Values("Vary"), ","))
		if strings.Contains(cc, "public") && !(strings.Contains(vary, "accept-language") && strings.Contains(vary, "cookie")) {
			t.Errorf("%s: Cache-Control %q with Vary %q: a shared cache would give every reader one language", lang, cc, vary)
		}
	}
	if bytes.Equal(bodies["en"], bodies["fr"]) {
		t.Fatalf("the feed is the same in both languages: nothing to vary on")
	}
}
