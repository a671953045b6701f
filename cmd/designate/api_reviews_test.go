package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The reviews through the real server: the review form a call carries, an
// evaluator's review and its conflict of interest, the secretariat's
// assessment and ranking, as JSON a client reads.

// rvReviewForm is the review form the API tests send with a call: the
// network's five criteria, weighing 2, 2, 3, 1 and 2, on the 1–5 scale.
func rvReviewForm() map[string]any {
	c := func(id, title string, weight float64) map[string]any {
		return map[string]any{"id": id, "title": map[string]string{"en": title, "fr": title + " (fr)"}, "weight": weight}
	}
	return map[string]any{"scale_min": 1, "scale_max": 5, "criteria": []map[string]any{
		c("commitment", "Commitment", 2), c("assets", "Assets", 2), c("action-plan", "Action plan", 3),
		c("cooperation", "Cooperation", 1), c("sustainability", "Sustainability", 2),
	}}
}

// rvScores are scores in the form's order.
func rvScores(commitment, assets, plan, cooperation, sustainability int) map[string]int {
	return map[string]int{"commitment": commitment, "assets": assets, "action-plan": plan,
		"cooperation": cooperation, "sustainability": sustainability}
}

// rvFinal is the body of a final review.
func rvFinal(scores map[string]int, recommendation string) map[string]any {
	return map[string]any{"scores": scores, "recommendation": recommendation, "final": true, "comment": "Considered."}
}

// rvReview is a review as the API returns it.
type rvReview struct {
	Application    string         `json:"application"`
	Evaluator      string         `json:"evaluator"`
	Email          string         `json:"email"`
	Kind           string         `json:"kind"`
	Scores         map[string]int `json:"scores"`
	Comment        string         `json:"comment"`
	Recommendation string         `json:"recommendation"`
	Final          bool           `json:"final"`
	Version        int            `json:"version"`
	UpdatedAt      time.Time      `json:"updated_at"`
	Mean           *float64       `json:"mean"`
}

// rvConflict is a declared conflict as the API returns it.
type rvConflict struct {
	Application string    `json:"application"`
	Evaluator   string    `json:"evaluator"`
	Email       string    `json:"email"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

// rvAssessment is an assessment as the API returns it.
type rvAssessment struct {
	Application string       `json:"application"`
	Reviews     []rvReview   `json:"reviews"`
	Conflicts   []rvConflict `json:"conflicts"`
	Mean        *float64     `json:"mean"`
	Spread      float64      `json:"spread"`
	Disagree    bool         `json:"strong_disagreement"`
	Final       int          `json:"final_reviews"`
}

// rvRanking is a field's ranking as the API returns it.
type rvRanking struct {
	Call  string `json:"call"`
	Field string `json:"field"`
	Items []struct {
		Rank        int          `json:"rank"`
		Application Dossier      `json:"application"`
		Reviews     []rvReview   `json:"reviews"`
		Conflicts   []rvConflict `json:"conflicts"`
		Mean        *float64     `json:"mean"`
		Spread      float64      `json:"spread"`
		Disagree    bool         `json:"strong_disagreement"`
		Final       int          `json:"final_reviews"`
	} `json:"items"`
}

// rvAccount is an account the tests sign in with.
type rvAccount struct{ Email, ID, Token string }

// rvEnv is the server with a call whose dossiers are under evaluation.
type rvEnv struct {
	t           *testing.T
	tm          *TestMain
	call        string
	secretariat string
	cities      map[string]*city
}

// rvStart creates the call with the review form and brings a dossier of
// each city (name, country, field) to evaluation, as the API does: submitted
// and endorsed before the close, accepted and under evaluation after it.
func rvStart(t *testing.T, callID string, cities ...[3]string) *rvEnv {
	t.Helper()
	tm := MustRunMain(t, false)
	e := &rvEnv{t: t, tm: tm, call: callID, cities: map[string]*city{}}
	e.secretariat = tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	body := callBody(callID)
	body["review"] = rvReviewForm()
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, body, nil)
	commissions := map[string]string{}
	for _, c := range cities {
		ct := tm.newCity(c[0], c[1], c[2])
		tm.submitDossier(ct, callID)
		if commissions[c[1]] == "" {
			commissions[c[1]] = tm.MustUser("commission@"+strings.ToLower(c[1])+".example.org", engine.RoleCommission, c[1], "")
		}
		tm.move(commissions[c[1]], &ct.Dossier, "endorse", "", "endorsed")
		e.cities[c[0]] = ct
	}
	// Weeks later: the call has closed, sessions have ended.
	tm.Advance(callClose.Add(time.Minute))
	e.secretariat = tm.MustLogin("secretariat@example.org", testPassword)
	for _, ct := range e.cities {
		ct.Token = tm.MustLogin(ct.Email, testPassword)
		tm.move(e.secretariat, &ct.Dossier, "accept", "", "eligible")
		tm.move(e.secretariat, &ct.Dossier, "start_evaluation", "", "under_evaluation")
	}
	return e
}

// evaluator makes an evaluator account of the country and signs it in.
func (e *rvEnv) evaluator(country string) *rvAccount {
	e.t.Helper()
	email := "expert@" + strings.ToLower(country) + ".example.org"
	a := &rvAccount{Email: email, Token: e.tm.MustUser(email, engine.RoleEvaluator, country, "")}
	var me struct{ ID string }
	e.tm.MustDo(200, "GET", "/api/v1/me", a.Token, nil, &me)
	a.ID = me.ID
	return a
}

// assign gives the city's dossier to the evaluators, as experts.
func (e *rvEnv) assign(cityName string, evs ...*rvAccount) {
	e.t.Helper()
	for _, ev := range evs {
		e.tm.MustDo(201, "POST", "/api/v1/applications/"+e.cities[cityName].Dossier.ID+"/assignments", e.secretariat,
			map[string]string{"evaluator": ev.ID, "kind": "expert"}, nil)
	}
}

// app is the path of the city's dossier.
func (e *rvEnv) app(cityName string) string {
	return "/api/v1/applications/" + e.cities[cityName].Dossier.ID
}

// review saves a review, which must be accepted.
func (e *rvEnv) review(cityName string, ev *rvAccount, body map[string]any) rvReview {
	e.t.Helper()
	var rv rvReview
	e.tm.MustDo(200, "PUT", e.app(cityName)+"/review", ev.Token, body, &rv)
	return rv
}

// rvKeys are the keys of a JSON object.
func rvKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %v", raw, err)
	}
	return slices.Sorted(maps.Keys(m))
}

// rvNear reports whether a mean is want.
func rvNear(m *float64, want float64) bool { return m != nil && math.Abs(*m-want) < 1e-9 }

// A call carries its review form; the body's defaults are the 1–5 scale
// and a weight of 1; a form that makes no sense is refused per field.
func TestAPI_Review_TheCallCarriesItsReviewForm(t *testing.T) {
	tm := MustRunMain(t, false)
	sec := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	body := callBody("with-review")
	body["review"] = map[string]any{"criteria": []map[string]any{
		{"id": "vision", "title": map[string]string{"en": "Vision", "fr": "Vision"}},
		{"id": "plan", "title": map[string]string{"en": "Plan", "fr": "Plan"}, "weight": 3},
	}}
	var call struct {
		Review struct {
			ScaleMin     int     `json:"scale_min"`
			ScaleMax     int     `json:"scale_max"`
			Disagreement float64 `json:"disagreement"`
			Criteria     []struct {
				ID     string           `json:"id"`
				Title  engine.Localized `json:"title"`
				Weight float64          `json:"weight"`
			} `json:"criteria"`
		} `json:"review"`
	}
	tm.MustDo(201, "POST", "/api/v1/calls", sec, body, &call)
	tm.MustDo(200, "GET", "/api/v1/calls/with-review", "", nil, &call)
	r := call.Review
	if r.ScaleMin != 1 || r.ScaleMax != 5 || r.Disagreement != 0 || len(r.Criteria) != 2 ||
		r.Criteria[0].ID != "vision" || r.Criteria[0].Weight != 1 || r.Criteria[0].Title.FR != "Vision" ||
		r.Criteria[1].ID != "plan" || r.Criteria[1].Weight != 3 {
		t.Fatalf("review form %+v, want vision (weight 1) and plan (3) on 1–5", r)
	}

	for name, c := range map[string]struct {
		review map[string]any
		field  string
	}{
		"scale upside down": {map[string]any{"scale_min": 5, "scale_max": 2, "criteria": []map[string]any{
			{"id": "a", "title": map[string]string{"en": "A", "fr": "A"}}}}, "review.scale_max"},
		"same id twice": {map[string]any{"criteria": []map[string]any{
			{"id": "a", "title": map[string]string{"en": "A", "fr": "A"}},
			{"id": "a", "title": map[string]string{"en": "B", "fr": "B"}}}}, "review.criteria[1].id"},
		"no French title": {map[string]any{"criteria": []map[string]any{
			{"id": "a", "title": map[string]string{"en": "A"}}}}, "review.criteria[0].title"},
	} {
		b := callBody("bad-review")
		b["review"] = c.review
		e := tm.MustFail(400, "invalid", "POST", "/api/v1/calls", sec, b)
		if e.Error.Fields[c.field] == "" {
			t.Errorf("%s: fields %v, want one for %s", name, e.Error.Fields, c.field)
		}
	}
	tm.MustFail(404, "not_found", "GET", "/api/v1/calls/bad-review", "", nil)
}

// The evaluator's review through the API: a draft, then a final review
// with its weighted mean; what is wrong is answered 400 per field
// (scores.<criterion>, recommendation) and changes nothing; a stale
// version is 409; GET gives back what the last PUT answered.
func TestAPI_Review_SaveReadAndRefuse(t *testing.T) {
	e := rvStart(t, "uccn-reviews", [3]string{"Lyon", "FR", "Film"})
	tm, ev := e.tm, e.evaluator("PT")
	path := e.app("Lyon") + "/review"

	// Before the first save: an empty review at version 0, no mean.
	var empty rvReview
	tm.MustFail(401, "unauthorized", "GET", path, "", nil)
	tm.MustFail(404, "not_found", "GET", path, ev.Token, nil) // not yet assigned
	e.assign("Lyon", ev)
	raw := tm.Raw(path, ev.Token)
	if err := json.Unmarshal(raw, &empty); err != nil || empty.Version != 0 || len(empty.Scores) != 0 || empty.Mean != nil ||
		empty.Application != e.cities["Lyon"].Dossier.ID || empty.Evaluator != ev.ID || empty.Kind != "expert" {
		t.Fatalf("review before any save: %s", raw)
	}

	draft := e.review("Lyon", ev, map[string]any{"scores": map[string]int{"commitment": 4, "assets": 5}, "comment": "So far so good.", "version": 0})
	if draft.Version != 1 || draft.Final || draft.Mean != nil || draft.Email != ev.Email || !draft.UpdatedAt.Equal(tm.Clock.Now()) {
		t.Fatalf("draft %+v, want version 1 without a mean", draft)
	}
	r := tm.MustSend("PUT", path, ev.Token, rvFinal(rvScores(4, 5, 3, 2, 4), "recommend"))
	if r.Status != 200 {
		t.Fatalf("final review: %d %s", r.Status, r.Body)
	}
	want := []string{"application", "comment", "email", "evaluator", "final", "kind", "mean", "recommendation", "scores", "updated_at", "version"}
	if keys := rvKeys(t, r.Body); !slices.Equal(keys, want) {
		t.Errorf("review keys %v, want %v", keys, want)
	}
	var final rvReview
	_ = json.Unmarshal(r.Body, &final)
	if final.Version != 2 || !final.Final || !rvNear(final.Mean, 3.7) || final.Recommendation != "recommend" { // (8+10+9+2+8)/10
		t.Fatalf("final review %s, want version 2 with mean 3.7", r.Body)
	}
	if got := tm.Raw(path, ev.Token); !bytes.Equal(got, r.Body) {
		t.Fatalf("GET answers\n%s\nPUT answered\n%s", got, r.Body)
	}

	for _, c := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"final with scores missing and no recommendation",
			map[string]any{"final": true, "scores": map[string]int{"commitment": 4, "assets": 4, "action-plan": 4}},
			[]string{"recommendation", "scores.cooperation", "scores.sustainability"}},
		{"final without a recommendation", map[string]any{"final": true, "scores": rvScores(4, 4, 4, 4, 4)},
			[]string{"recommendation"}},
		{"a score off the scale", map[string]any{"scores": map[string]int{"assets": 6, "commitment": 0}},
			[]string{"scores.assets", "scores.commitment"}},
		{"not a criterion", map[string]any{"scores": map[string]int{"vision": 3}}, []string{"scores.vision"}},
		{"an unknown recommendation", rvFinal(rvScores(4, 4, 4, 4, 4), "maybe"), []string{"recommendation"}},
		{"an unknown field", `{"score": {"assets": 3}}`, []string{"score"}},
		{"a score not a whole number", `{"scores": {"assets": 3.5}}`, nil},
		{"no body", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			refused := tm.MustFail(400, "invalid", "PUT", path, ev.Token, c.body)
			if c.fields != nil {
				if got := slices.Sorted(maps.Keys(refused.Error.Fields)); !slices.Equal(got, c.fields) {
					t.Errorf("fields %v, want %v", refused.Error.Fields, c.fields)
				}
			}
			tm.MustUnchanged(path, ev.Token, r.Body)
		})
	}
	for _, v := range []int{0, 1, 3} {
		b := rvFinal(rvScores(1, 1, 1, 1, 1), "do_not_recommend")
		b["version"] = v
		tm.MustFail(409, "stale_version", "PUT", path, ev.Token, b)
		tm.MustUnchanged(path, ev.Token, r.Body)
	}
	// At its version, the final review is revised.
	b := rvFinal(rvScores(5, 4, 4, 3, 5), "recommend")
	b["version"] = 2
	if rv := e.review("Lyon", ev, b); rv.Version != 3 || !rvNear(rv.Mean, 4.3) { // (10+8+12+3+10)/10
		t.Fatalf("revised %+v, want version 3 with mean 4.3", rv)
	}
	// Nobody else writes it.
	for _, tok := range []string{e.secretariat, e.cities["Lyon"].Token, e.evaluator("CN").Token} {
		st := tm.MustSend("PUT", path, tok, rvFinal(rvScores(1, 1, 1, 1, 1), "do_not_recommend")).Status
		if st != 403 && st != 404 {
			t.Errorf("a review written by another account: %d", st)
		}
	}
	if rv := e.review("Lyon", ev, map[string]any{"scores": rvScores(5, 4, 4, 3, 5), "recommendation": "recommend", "final": true, "version": 3}); rv.Version != 4 {
		t.Fatalf("version %d after the refusals, want 4", rv.Version)
	}
}

// A conflict of interest through the API: a reason is required; declared,
// it answers 201 with the declaration, ends the assignment (the list no
// longer has the evaluator, who no longer sees the dossier), drops the
// review, and the evaluator cannot be assigned again (409 conflict).
func TestAPI_Conflict_EndsTheAssignment(t *testing.T) {
	e := rvStart(t, "uccn-conflicts", [3]string{"Lyon", "FR", "Film"})
	tm, pt, cn := e.tm, e.evaluator("PT"), e.evaluator("CN")
	e.assign("Lyon", pt, cn)
	app := e.app("Lyon")
	e.review("Lyon", pt, map[string]any{"scores": map[string]int{"assets": 2}})

	before := tm.Raw(app+"/assessment", e.secretariat)
	refused := tm.MustFail(400, "invalid", "POST", app+"/conflict", pt.Token, map[string]string{})
	if refused.Error.Fields["reason"] == "" {
		t.Errorf("fields %v, want reason", refused.Error.Fields)
	}
	tm.MustFail(400, "invalid", "POST", app+"/conflict", pt.Token, map[string]string{"reason": "  "})
	tm.MustUnchanged(app+"/assessment", e.secretariat, before)

	const reason = "My firm drafted the city's cultural strategy."
	r := tm.MustSend("POST", app+"/conflict", pt.Token, map[string]string{"reason": reason})
	if r.Status != 201 {
		t.Fatalf("declare a conflict: %d %s", r.Status, r.Body)
	}
	if keys := rvKeys(t, r.Body); !slices.Equal(keys, []string{"application", "at", "email", "evaluator", "reason"}) {
		t.Errorf("conflict keys %v", keys)
	}
	var c rvConflict
	_ = json.Unmarshal(r.Body, &c)
	if c.Application != e.cities["Lyon"].Dossier.ID || c.Evaluator != pt.ID || c.Email != pt.Email || c.Reason != reason || !c.At.Equal(tm.Clock.Now()) {
		t.Fatalf("conflict %s", r.Body)
	}

	var list struct{ Items []engine.Assignment }
	tm.MustDo(200, "GET", app+"/assignments", e.secretariat, nil, &list)
	if len(list.Items) != 1 || list.Items[0].Evaluator != cn.ID {
		t.Fatalf("assignments %+v, want the CN expert only", list.Items)
	}
	tm.MustFail(404, "not_found", "GET", app, pt.Token, nil)
	tm.MustFail(404, "not_found", "GET", app+"/review", pt.Token, nil)
	tm.MustFail(404, "not_found", "PUT", app+"/review", pt.Token, map[string]any{"scores": map[string]int{"assets": 2}})
	tm.MustFail(404, "not_found", "POST", app+"/conflict", pt.Token, map[string]string{"reason": reason})
	var mine Page
	tm.MustDo(200, "GET", "/api/v1/applications", pt.Token, nil, &mine)
	if len(mine.Items) != 0 {
		t.Errorf("the evaluator still lists %v", ids(mine.Items))
	}

	var a rvAssessment
	tm.MustDo(200, "GET", app+"/assessment", e.secretariat, nil, &a)
	if len(a.Conflicts) != 1 || a.Conflicts[0] != c || len(a.Reviews) != 0 {
		t.Fatalf("assessment %+v, want the conflict and no review", a)
	}
	refusedAgain := tm.MustFail(409, "conflict", "POST", app+"/assignments", e.secretariat, map[string]string{"evaluator": pt.ID, "kind": "member_city"})
	if !strings.Contains(refusedAgain.Error.Message, reason) {
		t.Errorf("refusal %q does not give the declared reason", refusedAgain.Error.Message)
	}
	tm.MustDo(200, "GET", app+"/assignments", e.secretariat, nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("assignments after a refused re-assignment: %+v", list.Items)
	}
}

// The assessment and the ranking as JSON: the reviews with their weighted
// means, the mean of the final ones, the spread and the disagreement flag;
// the ranking of one field by mean, the unreviewed last. Weights 2, 2, 3,
// 1, 2; means worked out by hand.
func TestAPI_AssessmentAndRanking_JSON(t *testing.T) {
	e := rvStart(t, "uccn-ranking",
		[3]string{"Lyon", "FR", "Film"}, [3]string{"Porto", "PT", "Film"}, [3]string{"Bilbao", "ES", "Film"},
		[3]string{"Dijon", "FR", "Gastronomy"})
	tm := e.tm
	cn, br, ke := e.evaluator("CN"), e.evaluator("BR"), e.evaluator("KE")
	for _, c := range []string{"Lyon", "Porto", "Bilbao", "Dijon"} {
		e.assign(c, cn, br, ke)
	}
	e.review("Lyon", cn, rvFinal(rvScores(4, 5, 3, 2, 4), "recommend"))        // 37 → 3.7
	e.review("Lyon", br, rvFinal(rvScores(5, 5, 4, 3, 5), "recommend"))        // 45 → 4.5
	e.review("Lyon", ke, rvFinal(rvScores(3, 4, 3, 5, 2), "do_not_recommend")) // 32 → 3.2
	e.review("Porto", cn, rvFinal(rvScores(2, 2, 2, 2, 2), "do_not_recommend"))
	e.review("Porto", br, rvFinal(rvScores(5, 5, 5, 5, 5), "recommend"))      // 2 and 5: 3.5, spread 3
	e.review("Bilbao", cn, map[string]any{"scores": rvScores(5, 5, 5, 5, 5)}) // a draft: unreviewed
	e.review("Dijon", cn, rvFinal(rvScores(5, 5, 5, 5, 5), "recommend"))      // another field

	r := tm.MustSend("GET", e.app("Lyon")+"/assessment", e.secretariat, nil)
	if r.Status != 200 {
		t.Fatalf("assessment: %d %s", r.Status, r.Body)
	}
	for _, k := range []string{"application", "reviews", "conflicts", "mean", "spread", "strong_disagreement", "final_reviews"} {
		if !slices.Contains(rvKeys(t, r.Body), k) {
			t.Errorf("assessment %s has no %q", r.Body, k)
		}
	}
	var a rvAssessment
	_ = json.Unmarshal(r.Body, &a)
	if a.Application != e.cities["Lyon"].Dossier.ID || len(a.Reviews) != 3 || a.Conflicts == nil || len(a.Conflicts) != 0 ||
		a.Final != 3 || !rvNear(a.Mean, 3.8) || math.Abs(a.Spread-1.3) > 1e-9 || a.Disagree {
		t.Fatalf("assessment %s: want 3 final reviews, mean 3.8, spread 1.3 (under 4/3), no disagreement, conflicts []", r.Body)
	}
	means := map[string]float64{}
	for _, rv := range a.Reviews {
		if rv.Mean != nil {
			means[rv.Evaluator] = *rv.Mean
		}
	}
	if means[cn.ID] != 3.7 || means[br.ID] != 4.5 || means[ke.ID] != 3.2 {
		t.Errorf("review means %v, want 3.7, 4.5, 3.2", means)
	}
	// KE lowers cooperation: 31 → 3.1; the spread, 1.4, is a strong
	// disagreement; the mean 11.3/3 = 3.77.
	e.review("Lyon", ke, rvFinal(rvScores(3, 4, 3, 4, 2), "do_not_recommend"))
	tm.MustDo(200, "GET", e.app("Lyon")+"/assessment", e.secretariat, nil, &a)
	if !rvNear(a.Mean, 3.77) || math.Abs(a.Spread-1.4) > 1e-9 || !a.Disagree {
		t.Fatalf("after KE's revision: %+v, want mean 3.77, spread 1.4, strong disagreement", a)
	}
	// Without reviews: a null mean.
	r = tm.MustSend("GET", e.app("Bilbao")+"/assessment", e.secretariat, nil)
	if !bytes.Contains(r.Body, []byte(`"mean":null`)) || !bytes.Contains(r.Body, []byte(`"final_reviews":0`)) {
		t.Errorf("assessment of a dossier with a draft only: %s", r.Body)
	}

	// The Film ranking.
	r = tm.MustSend("GET", "/api/v1/calls/uccn-ranking/ranking?field=Film", e.secretariat, nil)
	if r.Status != 200 {
		t.Fatalf("ranking: %d %s", r.Status, r.Body)
	}
	if keys := rvKeys(t, r.Body); !slices.Equal(keys, []string{"call", "field", "items"}) {
		t.Errorf("ranking keys %v", keys)
	}
	var rk rvRanking
	_ = json.Unmarshal(r.Body, &rk)
	type line struct {
		City  string
		Rank  int
		Mean  float64
		Final int
	}
	var got []line
	for _, it := range rk.Items {
		m := -1.0
		if it.Mean != nil {
			m = *it.Mean
		}
		got = append(got, line{it.Application.City, it.Rank, m, it.Final})
	}
	want := []line{{"Lyon", 1, 3.77, 3}, {"Porto", 2, 3.5, 2}, {"Bilbao", 3, -1, 0}}
	if rk.Call != "uccn-ranking" || rk.Field != "Film" || !slices.Equal(got, want) {
		t.Fatalf("ranking %+v, want %+v", got, want)
	}
	if it := rk.Items[1]; !it.Disagree || it.Application.State != "under_evaluation" || len(it.Reviews) != 2 {
		t.Errorf("Porto's line %+v: want its two reviews and a strong disagreement", it)
	}
	var gastronomy rvRanking
	tm.MustDo(200, "GET", "/api/v1/calls/uccn-ranking/ranking?field=Gastronomy", e.secretariat, nil, &gastronomy)
	if len(gastronomy.Items) != 1 || gastronomy.Items[0].Application.City != "Dijon" {
		t.Errorf("Gastronomy ranking %+v, want Dijon alone", gastronomy.Items)
	}
	r = tm.MustSend("GET", "/api/v1/calls/uccn-ranking/ranking?field=Design", e.secretariat, nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"items":[]`)) {
		t.Errorf("ranking of a field without dossiers: %d %s, want items []", r.Status, r.Body)
	}
	refused := tm.MustFail(400, "invalid", "GET", "/api/v1/calls/uccn-ranking/ranking", e.secretariat, nil)
	if refused.Error.Fields["field"] == "" {
		t.Errorf("ranking without a field: fields %v", refused.Error.Fields)
	}
	tm.MustFail(404, "not_found", "GET", "/api/v1/calls/no-such-call/ranking?field=Film", e.secretariat, nil)
	// The secretariat's only.
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/calls/uccn-ranking/ranking?field=Film", "", nil)
	for _, tok := range []string{cn.Token, e.cities["Lyon"].Token} {
		tm.MustFail(403, "forbidden", "GET", "/api/v1/calls/uccn-ranking/ranking?field=Film", tok, nil)
		tm.MustFail(403, "forbidden", "GET", e.app("Lyon")+"/assessment", tok, nil)
	}
}

// The counts of final recommendations in an assessment are part of its
// JSON, named as the rest of it is.
func TestAPI_Assessment_RecommendationCounts(t *testing.T) {
	e := rvStart(t, "uccn-counts", [3]string{"Lyon", "FR", "Film"})
	cn, br, ke := e.evaluator("CN"), e.evaluator("BR"), e.evaluator("KE")
	e.assign("Lyon", cn, br, ke)
	e.review("Lyon", cn, rvFinal(rvScores(4, 4, 4, 4, 4), "recommend"))
	e.review("Lyon", br, rvFinal(rvScores(4, 4, 4, 4, 4), "recommend"))
	e.review("Lyon", ke, rvFinal(rvScores(2, 2, 2, 2, 2), "do_not_recommend"))
	var counts map[string]json.RawMessage
	e.tm.MustDo(200, "GET", e.app("Lyon")+"/assessment", e.secretariat, nil, &counts)
	if string(counts["recommend"]) != "2" || string(counts["do_not_recommend"]) != "1" {
		t.Fatalf("assessment keys %v: want recommend 2 and do_not_recommend 1", slices.Sorted(maps.Keys(counts)))
	}
}

// After the evaluation deadline a review is frozen: a draft or a final save
// is answered 409 deadline_passed, and the review and the assessment stay
// byte for byte as they were.
func TestAPI_Review_AfterTheEvaluationDeadline(t *testing.T) {
	e := rvStart(t, "uccn-late", [3]string{"Lyon", "FR", "Film"})
	tm, ev := e.tm, e.evaluator("PT")
	e.assign("Lyon", ev)
	path := e.app("Lyon") + "/review"
	e.review("Lyon", ev, rvFinal(rvScores(4, 4, 4, 4, 4), "recommend"))

	// A minute before the deadline a revision is still taken.
	tm.Advance(callEvaluate.Add(-time.Minute))
	ev.Token = tm.MustLogin(ev.Email, testPassword)
	e.secretariat = tm.MustLogin("secretariat@example.org", testPassword)
	kept := e.review("Lyon", ev, rvFinal(rvScores(5, 4, 4, 4, 4), "recommend"))
	if kept.Version != 2 {
		t.Fatalf("revision before the deadline: %+v", kept)
	}
	review, assessment := tm.Raw(path, ev.Token), tm.Raw(e.app("Lyon")+"/assessment", e.secretariat)

	tm.Advance(callEvaluate.Add(time.Minute))
	for name, body := range map[string]map[string]any{
		"a draft":            {"scores": map[string]int{"assets": 1}, "comment": "Too late."},
		"a final review":     rvFinal(rvScores(1, 1, 1, 1, 1), "do_not_recommend"),
		"at its own version": {"scores": rvScores(1, 1, 1, 1, 1), "recommendation": "do_not_recommend", "final": true, "version": 2},
	} {
		refused := tm.MustFail(409, "deadline_passed", "PUT", path, ev.Token, body)
		if !strings.Contains(refused.Error.Message, "deadline") {
			t.Errorf("%s: message %q", name, refused.Error.Message)
		}
		tm.MustUnchanged(path, ev.Token, review)
		tm.MustUnchanged(e.app("Lyon")+"/assessment", e.secretariat, assessment)
	}
}

// A member city is consulted only on a dossier of its own field: an expert
// (no city, no field) or a member city of another field assigned as
// member_city is refused 400 invalid by the evaluator, and nothing is
// assigned; a member city of the dossier's field is assigned, 201. Either
// may still be assigned as an expert.
func TestAPI_Assign_MemberCityMustBeOfTheDossiersField(t *testing.T) {
	e := rvStart(t, "uccn-members", [3]string{"Dijon", "FR", "Gastronomy"})
	tm, path := e.tm, e.app("Dijon")+"/assignments"
	expert := e.evaluator("CH")
	busan := eeEvaluatorOf(tm, "busan@kr.example.org", "KR", "Busan", "Film")
	parma := eeEvaluatorOf(tm, "parma@it.example.org", "IT", "Parma", "Gastronomy")

	before := tm.Raw(path, e.secretariat)
	for name, ev := range map[string]*rvAccount{"an expert without a field": expert, "a member city of Film": &busan.rvAccount} {
		t.Run(name, func(t *testing.T) {
			refused := tm.MustFail(400, "invalid", "POST", path, e.secretariat, map[string]string{"evaluator": ev.ID, "kind": "member_city"})
			if got := refused.Error.Fields; len(got) != 1 || got["evaluator"] != "is not a member city of Gastronomy" {
				t.Errorf("fields %v, want evaluator: is not a member city of Gastronomy", got)
			}
			tm.MustUnchanged(path, e.secretariat, before)
		})
	}

	var a engine.Assignment
	tm.MustDo(201, "POST", path, e.secretariat, map[string]string{"evaluator": parma.ID, "kind": "member_city"}, &a)
	if a.Application != e.cities["Dijon"].Dossier.ID || a.Evaluator != parma.ID || a.Email != parma.Email || a.Kind != "member_city" {
		t.Fatalf("Parma's assignment %+v, want Dijon as a member city", a)
	}
	tm.MustDo(201, "POST", path, e.secretariat, map[string]string{"evaluator": busan.ID, "kind": "expert"}, nil)
	tm.MustDo(201, "POST", path, e.secretariat, map[string]string{"evaluator": expert.ID, "kind": "expert"}, nil)
	var list struct{ Items []engine.Assignment }
	tm.MustDo(200, "GET", path, e.secretariat, nil, &list)
	kinds := map[string]string{}
	for _, it := range list.Items {
		kinds[it.Email] = it.Kind
	}
	if want := map[string]string{parma.Email: "member_city", busan.Email: "expert", expert.Email: "expert"}; !maps.Equal(kinds, want) {
		t.Errorf("Dijon's evaluators %v, want %v", kinds, want)
	}
}

// The evaluator's list through the API: each dossier assigned to it with
// what it is consulted as, its review (null before the first save, then
// exactly what GET review answers), the evaluation deadline and the call's
// zone; a dossier it declared a conflict on leaves the list. Only an
// evaluator has one.
func TestAPI_Worklist_KindsAndReviews(t *testing.T) {
	e := rvStart(t, "uccn-worklist", [3]string{"Dijon", "FR", "Gastronomy"}, [3]string{"Lyon", "FR", "Film"})
	tm := e.tm
	parma := eeEvaluatorOf(tm, "parma@it.example.org", "IT", "Parma", "Gastronomy")
	tm.MustDo(201, "POST", e.app("Dijon")+"/assignments", e.secretariat, map[string]string{"evaluator": parma.ID, "kind": "member_city"}, nil)
	e.assign("Lyon", &parma.rvAccount)

	type task struct {
		Application Dossier         `json:"application"`
		Kind        string          `json:"kind"`
		Review      json.RawMessage `json:"review"`
		Deadline    time.Time       `json:"evaluation_deadline"`
		Zone        string          `json:"time_zone"`
	}
	worklist := func() map[string]task {
		t.Helper()
		r := tm.MustSend("GET", "/api/v1/me/assignments", parma.Token, nil)
		if r.Status != 200 {
			t.Fatalf("GET /api/v1/me/assignments: %d %s", r.Status, r.Body)
		}
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(r.Body, &l); err != nil || rvKeys(t, r.Body)[0] != "items" || len(rvKeys(t, r.Body)) != 1 {
			t.Fatalf("worklist %s: want {\"items\": [...]}", r.Body)
		}
		out := map[string]task{}
		for _, raw := range l.Items {
			if keys := rvKeys(t, raw); !slices.Equal(keys, []string{"application", "evaluation_deadline", "kind", "review", "time_zone"}) {
				t.Errorf("task keys %v", keys)
			}
			var tk task
			if err := json.Unmarshal(raw, &tk); err != nil {
				t.Fatalf("task %s: %v", raw, err)
			}
			out[tk.Application.City] = tk
		}
		return out
	}

	// Before any save: both dossiers, each as assigned, review null.
	list := worklist()
	if len(list) != 2 {
		t.Fatalf("worklist %v, want Dijon and Lyon", slices.Sorted(maps.Keys(list)))
	}
	for cityName, kind := range map[string]string{"Dijon": "member_city", "Lyon": "expert"} {
		tk := list[cityName]
		if tk.Application.ID != e.cities[cityName].Dossier.ID || tk.Kind != kind || string(tk.Review) != "null" ||
			!tk.Deadline.Equal(callEvaluate) || tk.Zone != "Europe/Paris" || tk.Application.State != "under_evaluation" {
			t.Errorf("%s's task %+v (review %s), want %s, review null, deadline %v in Europe/Paris", cityName, tk, tk.Review, kind, callEvaluate)
		}
	}

	// A draft of Dijon: the list gives it as GET review does.
	e.review("Dijon", &parma.rvAccount, map[string]any{"scores": map[string]int{"assets": 3}, "comment": "Promising."})
	list = worklist()
	var draft rvReview
	if err := json.Unmarshal(list["Dijon"].Review, &draft); err != nil || draft.Version != 1 || draft.Final || draft.Kind != "member_city" ||
		!maps.Equal(draft.Scores, map[string]int{"assets": 3}) || draft.Comment != "Promising." || draft.Mean != nil {
		t.Errorf("Dijon's review on the list %s, want the version 1 draft", list["Dijon"].Review)
	}
	if got, want := string(list["Dijon"].Review), string(bytes.TrimSpace(tm.Raw(e.app("Dijon")+"/review", parma.Token))); got != want {
		t.Errorf("the list's review\n%s\nGET review answers\n%s", got, want)
	}
	if string(list["Lyon"].Review) != "null" {
		t.Errorf("Lyon's review %s, want null", list["Lyon"].Review)
	}

	// A conflict on Lyon: it leaves the list.
	tm.MustDo(201, "POST", e.app("Lyon")+"/conflict", parma.Token, map[string]string{"reason": "Parma and Lyon run a cooking school together."}, nil)
	if list = worklist(); len(list) != 1 || list["Dijon"].Kind != "member_city" {
		t.Errorf("after the conflict on Lyon the list has %v, want Dijon alone", slices.Sorted(maps.Keys(list)))
	}

	// Only an evaluator has a list.
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/me/assignments", "", nil)
	for _, tok := range []string{e.secretariat, e.cities["Dijon"].Token} {
		tm.MustFail(403, "forbidden", "GET", "/api/v1/me/assignments", tok, nil)
	}
	var empty struct{ Items []json.RawMessage }
	r := tm.MustSend("GET", "/api/v1/me/assignments", e.evaluator("KE").Token, nil)
	if err := json.Unmarshal(r.Body, &empty); r.Status != 200 || err != nil || !bytes.Contains(r.Body, []byte(`"items":[]`)) {
		t.Errorf("an evaluator without assignments: %d %s, want items []", r.Status, r.Body)
	}
}

// The candidates for a dossier, for the secretariat: every active
// evaluator account and no other, those that may be assigned first, each
// with the kinds it may be assigned as; the others marked assigned,
// own_country or conflict.
func TestAPI_Candidates_MarkOwnCountryConflictAndAssigned(t *testing.T) {
	e := rvStart(t, "uccn-candidates", [3]string{"Dijon", "FR", "Gastronomy"})
	tm, path := e.tm, e.app("Dijon")+"/candidates"
	ch, fr, ke := e.evaluator("CH"), e.evaluator("FR"), e.evaluator("KE")
	parma := eeEvaluatorOf(tm, "parma@it.example.org", "IT", "Parma", "Gastronomy")
	busan := eeEvaluatorOf(tm, "busan@kr.example.org", "KR", "Busan", "Film")
	tm.MustUser("commission@it.example.org", engine.RoleCommission, "IT", "") // not an evaluator: never a candidate
	e.assign("Dijon", ch, ke)
	tm.MustDo(201, "POST", e.app("Dijon")+"/conflict", ke.Token, map[string]string{"reason": "I advised Dijon's bid."}, nil)

	r := tm.MustSend("GET", path, e.secretariat, nil)
	if r.Status != 200 {
		t.Fatalf("candidates: %d %s", r.Status, r.Body)
	}
	if keys := rvKeys(t, r.Body); !slices.Equal(keys, []string{"items"}) {
		t.Errorf("candidates keys %v, want items", keys)
	}
	var l struct{ Items []engine.Candidate }
	if err := json.Unmarshal(r.Body, &l); err != nil {
		t.Fatal(err)
	}
	type mark struct {
		Barred, Kinds, City, Field string
	}
	got := map[string]mark{}
	for _, c := range l.Items {
		got[c.Email] = mark{c.Barred, strings.Join(c.Kinds, ","), c.City, c.Field}
	}
	want := map[string]mark{
		parma.Email: {"", "expert,member_city", "Parma", "Gastronomy"},
		busan.Email: {"", "expert", "Busan", "Film"},
		ch.Email:    {"assigned", "expert", "", ""},
		fr.Email:    {"own_country", "expert", "", ""},
		ke.Email:    {"conflict", "expert", "", ""},
	}
	if len(l.Items) != len(want) || !maps.Equal(got, want) {
		t.Fatalf("candidates %+v,\nwant %+v", got, want)
	}
	for i, c := range l.Items {
		if free := c.Barred == ""; free != (i < 2) {
			t.Errorf("candidate %d is %s (barred %q): want the two that may be assigned first", i, c.Email, c.Barred)
		}
	}

	// The secretariat's only; a dossier nobody has is 404.
	tm.MustFail(401, "unauthorized", "GET", path, "", nil)
	for _, tok := range []string{parma.Token, e.cities["Dijon"].Token} {
		tm.MustFail(403, "forbidden", "GET", path, tok, nil)
	}
	tm.MustFail(404, "not_found", "GET", "/api/v1/applications/06NOSUCHDOSSIER0/candidates", e.secretariat, nil)
}
