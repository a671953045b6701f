package main

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The evaluation in a real browser against the real server: the
// secretariat assigns evaluators from a dossier's page (one of the dossier's
// own country is barred, a member city of another field refused by the
// select), an expert drafts, is refused a final review with scores missing
// and completes it, a member city disagrees strongly and declares a
// conflict of interest on another dossier; the secretariat reads the
// assessment and the ranking, recommends, and releases the results from
// the outbox after the announcement. Every helper here starts with "bev",
// so that it cannot collide with the other browser tests' helpers; the bc*
// and cy* helpers come from browser_city_test.go and browser_cycle_test.go.

// bevCallID is the call the evaluation runs in.
const bevCallID = "bev-2027"

// bevSecretariatEmail is the secretariat's account.
const bevSecretariatEmail = "bev-secretariat@example.org"

// bevCriterion is one criterion of the call's review form.
type bevCriterion struct {
	id, en, fr string
	weight     float64
}

// bevCriteria are the network's five criteria, weighing 2, 2, 3, 1 and 2 on
// the 1–5 scale, with the French titles a French evaluator reads.
var bevCriteria = []bevCriterion{
	{"commitment", "Commitment", "Engagement", 2},
	{"assets", "Assets", "Atouts", 2},
	{"action-plan", "Action plan", "Plan d'action", 3},
	{"cooperation", "Cooperation", "Coopération", 1},
	{"sustainability", "Sustainability", "Durabilité", 2},
}

const bevScaleMin, bevScaleMax = 1, 5

// bevReviewForm is the review form the call carries.
func bevReviewForm() map[string]any {
	var cs []map[string]any
	for _, c := range bevCriteria {
		cs = append(cs, map[string]any{"id": c.id, "title": map[string]string{"en": c.en, "fr": c.fr}, "weight": c.weight})
	}
	return map[string]any{"scale_min": bevScaleMin, "scale_max": bevScaleMax, "criteria": cs}
}

// bevMean is the weighted mean of complete scores, to the cent, worked out
// here rather than read from the server.
func bevMean(scores map[string]int) float64 {
	var sum, weights float64
	for _, c := range bevCriteria {
		sum += c.weight * float64(scores[c.id])
		weights += c.weight
	}
	return math.Round(sum/weights*100) / 100
}

// bevDec is a mean or a spread as a reader of lang reads it: two decimals,
// with a comma in French.
func bevDec(lang string, f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	if lang == "fr" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// The scores of the two final reviews of Dijon: the expert's weighted mean
// is (8+10+12+3+10)/10 = 4.3, the member city's (4+4+3+1+4)/10 = 1.6; the
// mean of the two 2.95, the spread 2.7, over the threshold of 4/3.
var (
	bevExpertScores = map[string]int{"commitment": 4, "assets": 5, "action-plan": 4, "cooperation": 3, "sustainability": 5}
	bevMemberScores = map[string]int{"commitment": 2, "assets": 2, "action-plan": 1, "cooperation": 1, "sustainability": 2}
)

// bevConflictReasons is the member city's reason, as a person of that
// language types it.
var bevConflictReasons = map[string]string{
	"en": "Our gastronomy festival co-produces Lyon's food week.",
	"fr": "Notre festival de gastronomie coproduit la semaine du goût de Lyon.",
}

// bevEvaluator is an evaluator account.
type bevEvaluator struct {
	Email, ID string
}

// bevWorld is what the test sets up through the API before the browser:
// the call under evaluation, its three Gastronomy dossiers and the
// evaluator accounts.
type bevWorld struct {
	dijon, lyon, braga *city // Dijon is the dossier assessed; Lyon, the conflict
	// a: an expert of Switzerland; b: an expert of France (Dijon's and
	// Lyon's country); m: Parma, a member city of Gastronomy; n: Busan, a
	// member city of Film.
	a, b, m, n  *bevEvaluator
	secretariat string // the secretariat's API token, after the close
}

// bevSetUp creates the call with its review form (two dossiers of one
// country in one field allowed), three Gastronomy dossiers in France and
// Portugal submitted and endorsed, moves the clock past the close, accepts
// them and starts their evaluation, and makes the evaluator accounts.
func bevSetUp(t *testing.T, tm *TestMain) *bevWorld {
	t.Helper()
	w := &bevWorld{}
	sec := tm.MustUser(bevSecretariatEmail, engine.RoleSecretariat, "", "")
	body := callBody(bevCallID)
	body["review"] = bevReviewForm()
	body["distinct_fields"] = false
	tm.MustDo(201, "POST", "/api/v1/calls", sec, body, nil)
	w.dijon = tm.newCity("Dijon", "FR", "Gastronomy")
	w.lyon = tm.newCity("Lyon", "FR", "Gastronomy")
	w.braga = tm.newCity("Braga", "PT", "Gastronomy")
	commissions := map[string]string{
		"FR": tm.MustUser("bev-commission@fr.example.org", engine.RoleCommission, "FR", ""),
		"PT": tm.MustUser("bev-commission@pt.example.org", engine.RoleCommission, "PT", ""),
	}
	for _, c := range []*city{w.dijon, w.lyon, w.braga} {
		tm.submitDossier(c, bevCallID)
		tm.move(commissions[c.Country], &c.Dossier, "endorse", "", "endorsed")
	}
	// Weeks later: the call has closed, the sessions have ended.
	tm.Advance(callClose.Add(time.Minute))
	w.secretariat = tm.MustLogin(bevSecretariatEmail, testPassword)
	for _, c := range []*city{w.dijon, w.lyon, w.braga} {
		tm.move(w.secretariat, &c.Dossier, "accept", "", "eligible")
		tm.move(w.secretariat, &c.Dossier, "start_evaluation", "", "under_evaluation")
	}
	evaluator := func(email, country, cityName, field string) *bevEvaluator {
		t.Helper()
		token := tm.MustAccount(engine.NewUser{Email: email, Role: engine.RoleEvaluator, Country: country, City: cityName, Field: field})
		var me struct{ ID string }
		tm.MustDo(200, "GET", "/api/v1/me", token, nil, &me)
		return &bevEvaluator{Email: email, ID: me.ID}
	}
	w.a = evaluator("expert@ch.example.org", "CH", "", "")
	w.b = evaluator("expert@fr.example.org", "FR", "", "")
	w.m = evaluator("parma@it.example.org", "IT", "Parma", "Gastronomy")
	w.n = evaluator("busan@kr.example.org", "KR", "Busan", "Film")
	return w
}

// bevFieldMessage is the message a page shows by an input for the engine's
// text key: the engine's own English (the API's), the catalog's French.
// enArgs and frArgs are the arguments as each language formats them.
func bevFieldMessage(t *testing.T, c bcCatalog, lang, key string, enArgs, frArgs []any) string {
	t.Helper()
	if lang == "en" {
		return engine.T(key, enArgs...).String()
	}
	return c.S(t, "msg."+key, frArgs...)
}

// bevScoreRequired is the message by a criterion left unscored in a final
// review.
func bevScoreRequired(t *testing.T, c bcCatalog, lang string, cr bevCriterion) string {
	t.Helper()
	return bevFieldMessage(t, c, lang, "score_required",
		[]any{engine.Localized{EN: cr.en, FR: cr.fr}}, []any{cr.fr})
}

// bevValues are the values of the elements matching the CSS selector.
func bevValues(b *Browser, selector string) []string {
	b.t.Helper()
	return MustEval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll(%s)].map(e => e.value)`, jsString(selector)))
}

// bevIDs are the ids of the elements matching the CSS selector, in order.
func bevIDs(b *Browser, selector string) []string {
	b.t.Helper()
	return MustEval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll(%s)].map(e => e.id)`, jsString(selector)))
}

// bevChecked is the value of the checked radio named name, or "".
func bevChecked(b *Browser, name string) string {
	b.t.Helper()
	return MustEval[string](b, fmt.Sprintf(`(document.querySelector('input[name=%s]:checked') || {value: ""}).value`, jsString(name)))
}

// bevFieldError checks that the input shows msg by itself, tied to it for
// a screen reader, and in the error summary.
func bevFieldError(t *testing.T, b *Browser, input, msg string) {
	t.Helper()
	id := strings.TrimPrefix(input, "#") + "-msg"
	if got := cyNorm(bcShownText(b, "#"+id)); got != msg {
		t.Errorf("the message by %s says %q, want %q", input, got, msg)
	}
	if !bcDescribedBy(b, input, id) {
		t.Errorf("%s is not described by its message #%s", input, id)
	}
	if summary := cyNorm(bcShownText(b, "#error-summary")); !strings.Contains(summary, msg) {
		t.Errorf("the error summary %q does not give %q", summary, msg)
	}
}

// bevScore is the selector of a criterion's select.
func bevScore(id string) string { return "#f-scores-" + id }

// bevSelectScores chooses the scores in the review form.
func bevSelectScores(b *Browser, scores map[string]int) {
	b.t.Helper()
	for _, cr := range bevCriteria {
		if s, ok := scores[cr.id]; ok {
			b.MustSelect(bevScore(cr.id), strconv.Itoa(s))
		}
	}
}

// TestBrowser_Evaluation follows the evaluation of a call's dossiers, once
// in English and once in French, each on a server and in a browser of its
// own: assignments and their refusals, an expert's review from draft to
// final through a refusal, a member city's review and conflict of interest,
// the secretariat's assessment, ranking and recommendation, and the release
// of the results from the outbox after the announcement.
func TestBrowser_Evaluation(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel() // a server and a browser of its own
			bevEvaluation(t, lang)
		})
	}
}

func bevEvaluation(t *testing.T, lang string) {
	if _, err := findChromium(); err != nil {
		MustBrowser(t) // skips, or fails with DESIGNATE_REQUIRE_BROWSER=1, before starting anything
	}
	tm := MustRunMain(t, false)
	w := bevSetUp(t, tm) // before the browser, whose budget is for the pages
	sec := MustBrowser(t)
	c := bcLoadCatalog(t, lang)
	gastronomy := c.S(t, "field.Gastronomy")
	dijonPath := "/dossiers/" + w.dijon.Dossier.ID
	status := func(b *Browser, what string, got, want int) {
		t.Helper()
		if got != want {
			b.fatalf("%s: status %d, want %d", what, got, want)
		}
	}
	notice := func(b *Browser, key string) {
		t.Helper()
		if got, want := bcShownText(b, "main .notice"), c.S(t, key); got != want {
			t.Errorf("the notice says %q, want %q (%s)", got, want, key)
		}
	}

	// 1. The secretariat, on Dijon's page from the board: nobody assigned
	// yet; the French expert is barred, being of Dijon's country, and not
	// offered.
	cyEnter(t, sec, tm, c, lang)
	if p := cySignIn(t, sec, tm, c, lang, bevSecretariatEmail); p != "/board" {
		sec.fatalf("signed in, the secretariat lands on %s, want /board", p)
	}
	ranking := "/calls/" + bevCallID + "/ranking?field=Gastronomy"
	if got := bcShownText(sec, fmt.Sprintf(`main a[href=%s]`, jsString(ranking))); got != gastronomy {
		t.Errorf("the board's link to the Gastronomy ranking says %q, want %q", got, gastronomy)
	}
	status(sec, "Dijon's dossier", sec.MustClickNavigate(`table.dossiers a[href="`+dijonPath+`"]`), http.StatusOK)
	cyCheckPage(t, sec, c, lang, "dossier.title", "Dijon", gastronomy)
	if got, want := cyNorm(sec.MustText("#evaluation-h")), c.S(t, "evaluation.title"); got != want {
		t.Errorf("the evaluation part is headed %q, want %q", got, want)
	}
	if got := bcShownText(sec, "#evaluators"); got != "<none>" {
		t.Errorf("before any assignment the page lists evaluators: %q", got)
	}
	barredB := w.b.Email + " (" + c.S(t, "barred.own_country") + ")"
	if got := cyNorm(bcShownText(sec, "#barred")); !strings.Contains(got, barredB) {
		t.Errorf("the barred evaluators read %q, want %q among them", got, barredB)
	}
	offered := bevValues(sec, "#f-evaluator option")
	for _, ev := range []*bevEvaluator{w.a, w.m, w.n} {
		if !slices.Contains(offered, ev.ID) {
			t.Errorf("the evaluator select offers %v, without %s", offered, ev.Email)
		}
	}
	if slices.Contains(offered, w.b.ID) {
		t.Errorf("the evaluator select offers %s, of Dijon's own country", w.b.Email)
	}
	bcStep(sec, "dossier-evaluation-unassigned")

	// Busan, a member city of Film, as the member city of a Gastronomy
	// dossier: refused, with the reason by the evaluator's select; what
	// was chosen is still chosen.
	sec.MustSelect("#f-evaluator", w.n.ID)
	sec.MustSelect("#f-kind", engine.KindMemberCity)
	status(sec, "Busan as a member city of Gastronomy", sec.MustClickNavigate("#assign"), http.StatusBadRequest)
	cyCheckPage(t, sec, c, lang, "dossier.title", "Dijon", gastronomy)
	bevFieldError(t, sec, "#f-evaluator", bevFieldMessage(t, c, lang, "not_member_city",
		[]any{engine.FieldName("Gastronomy")}, []any{gastronomy}))
	emails := map[string]string{w.a.ID: w.a.Email, w.m.ID: w.m.Email, w.n.ID: w.n.Email}
	if got, want := emails[bcValue(sec, "#f-evaluator")]+" as "+bcValue(sec, "#f-kind"), w.n.Email+" as "+engine.KindMemberCity; got != want {
		t.Errorf("after the refusal the assignment form holds %q, want what was chosen, %q (the message by the select is about it)", got, want)
	}
	if got := bcShownText(sec, "#evaluators"); got != "<none>" {
		t.Errorf("after the refusal the page lists evaluators: %q", got)
	}
	bcStep(sec, "assign-busan-refused")

	// The Swiss expert as an expert, Parma as the member city: each back on
	// the page with the notice and its row; neither offered again.
	for _, as := range []struct {
		ev   *bevEvaluator
		kind string
	}{{w.a, engine.KindExpert}, {w.m, engine.KindMemberCity}} {
		sec.MustSelect("#f-evaluator", as.ev.ID)
		sec.MustSelect("#f-kind", as.kind)
		status(sec, "assigning "+as.ev.Email, sec.MustClickNavigate("#assign"), http.StatusOK)
		if p := bcPath(sec, tm); p != dijonPath+"?notice=assigned#evaluation-h" {
			t.Errorf("after assigning %s the secretariat is on %s", as.ev.Email, p)
		}
		notice(sec, "notice.assigned")
		row := cyNorm(bcShownText(sec, "#evaluator-"+as.ev.ID))
		if !strings.Contains(row, as.ev.Email) || !strings.Contains(row, c.S(t, "kind."+as.kind)) || !strings.Contains(row, c.S(t, "review.none")) {
			t.Errorf("%s's row reads %q, want the address, %q and %q", as.ev.Email, row, c.S(t, "kind."+as.kind), c.S(t, "review.none"))
		}
		if got := bcShownText(sec, "#unassign-"+as.ev.ID); got == "<none>" {
			t.Errorf("%s's row has no button to remove the evaluator", as.ev.Email)
		}
		if slices.Contains(bevValues(sec, "#f-evaluator option"), as.ev.ID) {
			t.Errorf("assigned, %s is still offered", as.ev.Email)
		}
	}
	if got, want := bevIDs(sec, "#evaluators tbody tr"), []string{"evaluator-" + w.a.ID, "evaluator-" + w.m.ID}; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("the evaluators' rows are %v, want %v", got, want)
	}
	sec.Step("dossier-two-evaluators") // axe-core checks the evaluators' table with the assessment below

	// Parma is also consulted on Lyon (through the API).
	tm.MustDo(201, "POST", "/api/v1/applications/"+w.lyon.Dossier.ID+"/assignments", w.secretariat,
		map[string]string{"evaluator": w.m.ID, "kind": engine.KindMemberCity}, nil)

	// 2. The Swiss expert lands on its list: Dijon, not started.
	expert := sec.NewUser("expert")
	cyEnter(t, expert, tm, c, lang)
	if p := cySignIn(t, expert, tm, c, lang, w.a.Email); p != "/reviews" {
		expert.fatalf("signed in, the expert lands on %s, want /reviews", p)
	}
	cyCheckPage(t, expert, c, lang, "reviews.title")
	task := "#task-" + w.dijon.Dossier.ID
	if got := bevIDs(expert, "#worklist tbody tr"); !slices.Equal(got, []string{task[1:]}) {
		t.Errorf("the expert's list has the rows %v, want Dijon's alone", got)
	}
	row := cyNorm(bcShownText(expert, task))
	for _, want := range []string{"Dijon", "FR", gastronomy, c.S(t, "kind.expert"), c.S(t, "review.none")} {
		if !strings.Contains(row, want) {
			t.Errorf("Dijon's row on the expert's list reads %q, without %q", row, want)
		}
	}
	bcStep(expert, "worklist")

	// Dijon's page: the review form, nothing scored.
	status(expert, "Dijon from the list", expert.MustClickNavigate(task+" a"), http.StatusOK)
	if p := bcPath(expert, tm); !strings.HasPrefix(p, dijonPath) {
		t.Errorf("the list's link leads to %s, want %s", p, dijonPath)
	}
	cyCheckPage(t, expert, c, lang, "dossier.title", "Dijon", gastronomy)
	meta := func(b *Browser) string { return cyNorm(bcShownText(b, "#review .meta")) }
	if got, want := meta(expert), c.S(t, "review.as", c.S(t, "kind.expert"))+" · "+c.S(t, "review.none"); got != want {
		t.Errorf("the review's line reads %q, want %q", got, want)
	}
	for _, cr := range bevCriteria {
		if got := bcValue(expert, bevScore(cr.id)); got != "" {
			t.Errorf("before any save %s holds %q", cr.id, got)
		}
		label := cyNorm(expert.MustText(`label[for="` + bevScore(cr.id)[1:] + `"]`))
		if title := map[string]string{"en": cr.en, "fr": cr.fr}[lang]; !strings.HasPrefix(label, title) {
			t.Errorf("the label of %s reads %q, want the criterion's title %q", cr.id, label, title)
		}
	}
	bcStep(expert, "review-form")

	// A draft with one score: the notice, draft (version 1), the score kept.
	expert.MustSelect(bevScore("commitment"), "4")
	status(expert, "saving the draft", expert.MustClickNavigate("#review-draft"), http.StatusOK)
	if p := bcPath(expert, tm); p != dijonPath+"?notice=review_saved" {
		t.Errorf("after the draft the expert is on %s", p)
	}
	notice(expert, "notice.review_saved")
	if got, want := meta(expert), c.S(t, "review.draft", 1); !strings.HasSuffix(got, want) {
		t.Errorf("after the draft the review's line reads %q, want it to end %q", got, want)
	}
	if got := bcValue(expert, bevScore("commitment")); got != "4" {
		t.Errorf("after the draft commitment holds %q, want 4", got)
	}
	expert.Step("review-draft-saved")

	// Final with three scores and the recommendation missing: refused, each
	// message by its input, what was typed kept, the draft unchanged.
	comment := map[string]string{"en": "A strong plan; cooperation could go further.", "fr": "Un plan solide ; la coopération pourrait aller plus loin."}[lang]
	expert.MustSelect(bevScore("assets"), "5")
	expert.MustSetValue("#f-comment", comment)
	status(expert, "a final review with scores missing", expert.MustClickNavigate("#review-final"), http.StatusBadRequest)
	cyCheckPage(t, expert, c, lang, "dossier.title", "Dijon", gastronomy)
	for _, cr := range bevCriteria[2:] {
		bevFieldError(t, expert, bevScore(cr.id), bevScoreRequired(t, c, lang, cr))
	}
	bevFieldError(t, expert, "#f-recommendation", bevFieldMessage(t, c, lang, "recommendation_required", nil, nil))
	for _, id := range []string{"commitment", "assets"} {
		if got := bcShownText(expert, bevScore(id)+"-msg"); got != "<none>" {
			t.Errorf("%s, scored, has the message %q", id, got)
		}
	}
	if got := bcValue(expert, bevScore("commitment")) + " " + bcValue(expert, bevScore("assets")); got != "4 5" {
		t.Errorf("after the refusal commitment and assets hold %q, want the scores chosen, 4 5", got)
	}
	if got := bcValue(expert, "#f-comment"); got != comment {
		t.Errorf("after the refusal the comment reads %q, want what was typed", got)
	}
	if got, want := meta(expert), c.S(t, "review.draft", 1); !strings.HasSuffix(got, want) {
		t.Errorf("after the refusal the review's line reads %q, want it to end %q", got, want)
	}
	bcStep(expert, "review-final-refused")

	// Completed and recommended: final (version 2), with its weighted mean.
	expertMean := bevMean(bevExpertScores)
	bevSelectScores(expert, bevExpertScores)
	expert.MustClick(`input[name="recommendation"][value="recommend"]`)
	status(expert, "the final review", expert.MustClickNavigate("#review-final"), http.StatusOK)
	if p := bcPath(expert, tm); p != dijonPath+"?notice=review_final" {
		t.Errorf("after the final review the expert is on %s", p)
	}
	notice(expert, "notice.review_final")
	if got, want := meta(expert), c.S(t, "review.final", 2)+" · "+c.S(t, "review.mean", bevDec(lang, expertMean)); !strings.HasSuffix(got, want) {
		t.Errorf("after the final review the review's line reads %q, want it to end %q", got, want)
	}
	if got := bevChecked(expert, "recommendation"); got != "recommend" {
		t.Errorf("after the final review the recommendation is %q", got)
	}
	expert.Step("review-final-saved") // the form axe-core checked above
	status(expert, "the expert's list", expert.MustClickNavigate(`header nav a[href="/reviews"]`), http.StatusOK)
	if got, want := cyNorm(bcShownText(expert, task)), c.S(t, "review.final", 2); !strings.Contains(got, want) {
		t.Errorf("Dijon's row reads %q after the final review, want %q", got, want)
	}
	expert.Step("worklist-final")

	// 3. Parma, consulted on Dijon and Lyon: a low final review of Dijon,
	// recommending against.
	member := sec.NewUser("member")
	cyEnter(t, member, tm, c, lang)
	if p := cySignIn(t, member, tm, c, lang, w.m.Email); p != "/reviews" {
		member.fatalf("signed in, Parma lands on %s, want /reviews", p)
	}
	lyonTask := "#task-" + w.lyon.Dossier.ID
	if got := bevIDs(member, "#worklist tbody tr"); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values([]string{task[1:], lyonTask[1:]}))) {
		t.Errorf("Parma's list has the rows %v, want Dijon's and Lyon's", got)
	}
	if got := cyNorm(bcShownText(member, task)); !strings.Contains(got, c.S(t, "kind.member_city")) {
		t.Errorf("Dijon's row on Parma's list reads %q, without %q", got, c.S(t, "kind.member_city"))
	}
	status(member, "Dijon from Parma's list", member.MustClickNavigate(task+" a"), http.StatusOK)
	memberMean := bevMean(bevMemberScores)
	bevSelectScores(member, bevMemberScores)
	member.MustClick(`input[name="recommendation"][value="do_not_recommend"]`)
	status(member, "Parma's final review", member.MustClickNavigate("#review-final"), http.StatusOK)
	notice(member, "notice.review_final")
	if got, want := meta(member), c.S(t, "review.as", c.S(t, "kind.member_city"))+" · "+c.S(t, "review.final", 1)+" · "+c.S(t, "review.mean", bevDec(lang, memberMean)); got != want {
		t.Errorf("Parma's review's line reads %q, want %q", got, want)
	}
	member.Step("review-final")

	// Lyon: a conflict of interest. Without a reason the browser's
	// required attribute stops the form; with one, back on the list with
	// the notice, Lyon gone from it.
	status(member, "Parma's list", member.MustClickNavigate(`header nav a[href="/reviews"]`), http.StatusOK)
	status(member, "Lyon from Parma's list", member.MustClickNavigate(lyonTask+" a"), http.StatusOK)
	cyCheckPage(t, member, c, lang, "dossier.title", "Lyon", gastronomy)
	MustEval[bool](member, `window.bevStillHere = true`)
	member.MustClick("#declare-conflict")
	type validity struct {
		Missing bool   `json:"missing"`
		Focused bool   `json:"focused"`
		Message string `json:"message"`
		Same    bool   `json:"same"`
	}
	v := MustEval[validity](member, `(() => {
		const ta = document.querySelector("#f-reason");
		return {missing: ta.validity.valueMissing, focused: document.activeElement === ta,
			message: ta.validationMessage, same: window.bevStillHere === true};
	})()`)
	if !v.Missing || !v.Focused || v.Message == "" || !v.Same {
		t.Errorf("declaring a conflict without a reason: %+v; want the browser to refuse the empty required reason, with the focus on it and the page unchanged", v)
	}
	bcStep(member, "conflict-form")
	reason := bevConflictReasons[lang]
	member.MustSetValue("#f-reason", reason)
	status(member, "declaring the conflict", member.MustClickNavigate("#declare-conflict"), http.StatusOK)
	if p := bcPath(member, tm); p != "/reviews?notice=conflict" {
		t.Errorf("after the conflict Parma is on %s, want /reviews?notice=conflict", p)
	}
	cyCheckPage(t, member, c, lang, "reviews.title")
	notice(member, "notice.conflict")
	if got := bevIDs(member, "#worklist tbody tr"); !slices.Equal(got, []string{task[1:]}) {
		t.Errorf("after the conflict Parma's list has the rows %v, want Dijon's alone", got)
	}
	member.Step("worklist-after-conflict") // the list axe-core checked above

	// 4. The secretariat: Lyon's page shows the conflict with its reason,
	// and Parma among those who cannot be assigned, saying why.
	status(sec, "Lyon's dossier", sec.MustNavigate(tm.URL()+"/dossiers/"+w.lyon.Dossier.ID), http.StatusOK)
	cyCheckPage(t, sec, c, lang, "dossier.title", "Lyon", gastronomy)
	if got := cyNorm(bcShownText(sec, "#conflicts")); !strings.HasPrefix(got, w.m.Email+" · ") || !strings.HasSuffix(got, c.S(t, "quote", reason)) {
		t.Errorf("Lyon's conflicts read %q, want Parma's with its reason %q", got, reason)
	}
	barredM := w.m.Email + " (" + c.S(t, "barred.conflict") + ")"
	if got := cyNorm(bcShownText(sec, "#barred")); !strings.Contains(got, barredM) || !strings.Contains(got, barredB) {
		t.Errorf("Lyon's barred evaluators read %q, want %q and %q", got, barredM, barredB)
	}
	if slices.Contains(bevValues(sec, "#f-evaluator option"), w.m.ID) {
		t.Errorf("after its conflict Parma is still offered for Lyon")
	}
	if got := bcShownText(sec, "#evaluators"); got != "<none>" {
		t.Errorf("after Parma's conflict Lyon lists evaluators: %q", got)
	}
	bcStep(sec, "dossier-conflict")

	// Dijon's assessment: the mean of the two final reviews and their
	// spread, worked out here, and the strong disagreement.
	mean := math.Round((expertMean+memberMean)/2*100) / 100
	spread := math.Round(math.Abs(expertMean-memberMean)*100) / 100
	if threshold := float64(bevScaleMax-bevScaleMin) / 3; spread < threshold {
		t.Fatalf("the test's scores spread %v, under the disagreement threshold %v", spread, threshold)
	}
	status(sec, "Dijon's dossier", sec.MustNavigate(tm.URL()+dijonPath), http.StatusOK)
	summary := c.S(t, "assessment.summary", 2, bevDec(lang, mean), bevDec(lang, spread))
	votes := c.S(t, "assessment.votecount", 1, 1)
	if got := cyNorm(bcShownText(sec, "#assessment")); !strings.HasPrefix(got, summary+" · "+votes) {
		t.Errorf("Dijon's assessment reads %q, want it to start %q", got, summary+" · "+votes)
	}
	if got, want := cyNorm(bcShownText(sec, "#disagreement")), c.S(t, "assessment.disagreement"); got != want {
		t.Errorf("Dijon's disagreement reads %q, want %q", got, want)
	}
	for _, r := range []struct {
		ev             *bevEvaluator
		status, scores string
		rec            string
	}{
		{w.a, c.S(t, "review.final", 2) + " · " + bevDec(lang, expertMean), "4", "recommend"},
		{w.m, c.S(t, "review.final", 1) + " · " + bevDec(lang, memberMean), "2", "do_not_recommend"},
	} {
		row := cyNorm(bcShownText(sec, "#evaluator-"+r.ev.ID))
		title := map[string]string{"en": bevCriteria[0].en, "fr": bevCriteria[0].fr}[lang]
		for _, want := range []string{r.status, c.S(t, "review.scoreline", title, r.scores), c.S(t, "recommendation."+r.rec)} {
			if !strings.Contains(row, want) {
				t.Errorf("%s's row reads %q, without %q", r.ev.Email, row, want)
			}
		}
	}
	if got := cyNorm(bcShownText(sec, "#evaluator-"+w.a.ID)); !strings.Contains(got, comment) {
		t.Errorf("the expert's row reads %q, without its comment %q", got, comment)
	}
	bcStep(sec, "dossier-assessment")

	// The field's ranking, from the assessment: Dijon first, then the
	// dossiers without a final review, by city.
	status(sec, "the ranking", sec.MustClickNavigate("#assessment a"), http.StatusOK)
	if p := bcPath(sec, tm); p != ranking {
		t.Errorf("the assessment's link leads to %s, want %s", p, ranking)
	}
	cyCheckPage(t, sec, c, lang, "ranking.title", "Call "+bevCallID)
	want := []string{"rank-" + w.dijon.Dossier.ID, "rank-" + w.braga.Dossier.ID, "rank-" + w.lyon.Dossier.ID}
	if got := bevIDs(sec, "#ranking tbody tr"); !slices.Equal(got, want) {
		t.Errorf("the ranking's rows are %v, want Dijon, Braga, Lyon: %v", got, want)
	}
	if got := cyNorm(bcShownText(sec, "#rank-"+w.dijon.Dossier.ID)); !strings.HasPrefix(got, "1 Dijon FR") || !strings.Contains(got, bevDec(lang, mean)) {
		t.Errorf("Dijon's line in the ranking reads %q, want rank 1 and the mean %s", got, bevDec(lang, mean))
	}
	bcStep(sec, "ranking")

	// Dijon recommended, through its button and the confirmation.
	status(sec, "Dijon from the ranking", sec.MustClickNavigate("#rank-"+w.dijon.Dossier.ID+" a"), http.StatusOK)
	cyConfirm(t, sec, tm, c, lang, "#move-recommend", "recommend", w.dijon)
	status(sec, "confirming the recommendation", sec.MustClickNavigate("#confirm"), http.StatusOK)
	if p := bcPath(sec, tm); p != dijonPath+"?notice=moved" {
		t.Errorf("after the recommendation the secretariat is on %s", p)
	}
	notice(sec, "notice.moved")
	if got, want := cyState(sec), c.S(t, "state.recommended"); got != want {
		t.Errorf("after the recommendation Dijon is %q, want %q", got, want)
	}
	if got := bcShownText(sec, "#assign-form"); got != "<none>" {
		t.Errorf("recommended, Dijon still offers to assign evaluators")
	}
	sec.Step("dossier-recommended")

	// 5. The outbox: the submissions' messages and the others, no result
	// held before the announcement.
	status(sec, "the outbox", sec.MustClickNavigate(`header nav a[href="/outbox"]`), http.StatusOK)
	cyCheckPage(t, sec, c, lang, "outbox.title")
	if n := len(bevIDs(sec, "#messages tbody tr")); n == 0 {
		t.Errorf("the outbox lists no message")
	}
	if got := cyNorm(bcShownText(sec, "#messages")); !strings.Contains(got, c.S(t, "event.submit")+" · Dijon (FR)") {
		t.Errorf("the outbox lists no message about Dijon's submission: %q", clip(got, 2000))
	}
	held := "#held-" + bevCallID
	if got := bcShownText(sec, held); got != "<none>" {
		t.Errorf("before the announcement the outbox holds results: %q", got)
	}
	bcStep(sec, "outbox")

	// The announcement passes (the test's clock; the session has ended):
	// Dijon's result is held, with a button to release it; released, the
	// held results are gone.
	tm.Advance(callAnnounce.Add(time.Second))
	sec.MustNavigate(sec.MustLocation())
	if p, want := bcPath(sec, tm), "/login?next="+url.QueryEscape("/outbox"); p != want {
		t.Errorf("after the announcement the outbox's address leads to %s, want %s", p, want)
	}
	if p := cySignInHere(t, sec, tm, c, lang, bevSecretariatEmail); p != "/outbox" {
		sec.fatalf("signed in again, the secretariat lands on %s, want /outbox", p)
	}
	var heldMessages struct{ Items []engine.Message }
	tm.MustDo(200, "GET", "/api/v1/outbox?state=held", tm.MustLogin(bevSecretariatEmail, testPassword), nil, &heldMessages)
	if len(heldMessages.Items) == 0 {
		t.Fatalf("after the announcement no result is held")
	}
	heldCount := c.S(t, "outbox.heldcount", len(heldMessages.Items))
	if len(heldMessages.Items) == 1 {
		heldCount = c.S(t, "outbox.heldcount.one", 1)
	}
	if got, want := cyNorm(bcShownText(sec, held)), c.S(t, "outbox.heldline", "Call "+bevCallID, heldCount)+" "+c.S(t, "outbox.release"); got != want {
		t.Errorf("after the announcement the held results read %q, want %q", got, want)
	}
	bcStep(sec, "outbox-held")
	status(sec, "releasing the results", sec.MustClickNavigate("#release-"+bevCallID), http.StatusOK)
	if p := bcPath(sec, tm); p != "/outbox?notice=released" {
		t.Errorf("after the release the secretariat is on %s", p)
	}
	notice(sec, "notice.released")
	if got := bcShownText(sec, held); got != "<none>" {
		t.Errorf("after the release the outbox still holds %q", got)
	}
	sec.Step("outbox-released") // the outbox axe-core checked above
}
