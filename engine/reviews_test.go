package engine_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The evaluators' reviews: what an assigned evaluator may write and when,
// its declaration of a conflict of interest, and what the secretariat reads
// of them (a dossier's assessment, a field's ranking).

// rvForm is the review form of the tests: the network's five criteria,
// weighing 2, 2, 3, 1 and 2 (10 in all), scored 1 to 5; the disagreement
// threshold is left to its default, a third of the scale (4/3).
func rvForm() engine.ReviewForm {
	c := func(id, en string, w float64) engine.Criterion {
		return engine.Criterion{ID: id, Title: engine.Localized{EN: en, FR: en + " (fr)"}, Weight: w}
	}
	return engine.ReviewForm{ScaleMin: 1, ScaleMax: 5, Criteria: []engine.Criterion{
		c("commitment", "Commitment", 2),
		c("assets", "Assets", 2),
		c("action-plan", "Action plan", 3),
		c("cooperation", "Cooperation", 1),
		c("sustainability", "Sustainability", 2),
	}}
}

// rvCall creates the standard call with the review form, open now, and
// with a quota that never gets in the way.
func rvCall(t *testing.T, e *Env) *engine.Call {
	t.Helper()
	c := NewCall(CallID, e.Clock.Now())
	c.Review = rvForm()
	c.MaxPerCountry, c.DistinctFields = 1000, false
	return e.MustCreateCall(t, c)
}

// rvScores are scores in the form's order: commitment, assets, action-plan,
// cooperation, sustainability.
func rvScores(commitment, assets, plan, cooperation, sustainability int) map[string]int {
	return map[string]int{"commitment": commitment, "assets": assets, "action-plan": plan,
		"cooperation": cooperation, "sustainability": sustainability}
}

// rvAll is every criterion scored s.
func rvAll(s int) map[string]int { return rvScores(s, s, s, s, s) }

// rvFinal is a final review recommending or not.
func rvFinal(scores map[string]int, recommend bool) engine.ReviewEdit {
	rec := engine.DoNotRecommend
	if recommend {
		rec = engine.Recommend
	}
	return engine.ReviewEdit{Scores: scores, Recommendation: rec, Final: true, Comment: "A considered opinion."}
}

// rvEvaluator is the evaluator account of a country.
func rvEvaluator(t *testing.T, e *Env, country string) engine.Actor {
	t.Helper()
	return engine.ActorOf(e.MustUser(t, engine.RoleEvaluator, country, ""))
}

// rvUnderEvaluation brings a new dossier of each city (name, country) in
// the field to evaluation: all endorsed before the close, then moved on.
func rvUnderEvaluation(t *testing.T, e *Env, call *engine.Call, field string, cities ...[2]string) []*engine.Application {
	t.Helper()
	apps := make([]*engine.Application, len(cities))
	for i, c := range cities {
		apps[i] = e.MustReach(t, call, e.City(t, c[0], c[1]), field, engine.Endorsed)
	}
	for i := range apps {
		apps[i] = e.MustMoveOn(t, call, apps[i], engine.UnderEvaluation)
	}
	return apps
}

// rvAssign assigns the evaluators to the dossier as experts.
func rvAssign(t *testing.T, e *Env, app *engine.Application, evs ...engine.Actor) {
	t.Helper()
	for _, ev := range evs {
		if _, err := e.Service.Assign(context.Background(), e.Secretariat(t), app.ID, ev.UserID, engine.KindExpert); err != nil {
			t.Fatalf("assign %s to %s: %v", ev.Email, app.City, err)
		}
	}
}

// rvSave saves the review, which must be accepted.
func rvSave(t *testing.T, e *Env, ev engine.Actor, app *engine.Application, edit engine.ReviewEdit) *engine.Review {
	t.Helper()
	rv, err := e.Service.SaveReview(context.Background(), ev, app.ID, edit)
	if err != nil {
		t.Fatalf("%s reviews %s: %v (%v)", ev.Email, app.City, err, engine.ErrorFields(err))
	}
	return rv
}

// rvMine reads the evaluator's own review, which must be readable.
func rvMine(t *testing.T, e *Env, ev engine.Actor, app *engine.Application) *engine.Review {
	t.Helper()
	rv, err := e.Service.MyReview(context.Background(), ev, app.ID)
	if err != nil {
		t.Fatalf("%s reads its review of %s: %v", ev.Email, app.City, err)
	}
	return rv
}

// rvAssess reads the dossier's assessment as the secretariat.
func rvAssess(t *testing.T, e *Env, app *engine.Application) *engine.Assessment {
	t.Helper()
	a, err := e.Service.Assessment(context.Background(), e.Secretariat(t), app.ID)
	if err != nil {
		t.Fatalf("assessment of %s: %v", app.City, err)
	}
	return a
}

// rvMean is the value of a mean, NaN for none.
func rvMean(m *float64) float64 {
	if m == nil {
		return math.NaN()
	}
	return *m
}

// rvSameMean reports whether the mean is want (NaN: no mean).
func rvSameMean(m *float64, want float64) bool {
	if math.IsNaN(want) {
		return m == nil
	}
	return m != nil && math.Abs(*m-want) < 1e-9
}

// rvTextKeys are the message keys of a refusal, per field.
func rvTextKeys(err error) map[string]string {
	out := map[string]string{}
	for k, txt := range engine.ErrorTexts(err) {
		out[k] = txt.Key
	}
	return out
}

// rvSetup is a call with the review form and Cannes's dossier under
// evaluation, the Portuguese expert assigned to it.
func rvSetup(t *testing.T) (*Env, *engine.Call, *engine.Application, engine.Actor) {
	t.Helper()
	e := MustOpenService(t)
	call := rvCall(t, e)
	app := rvUnderEvaluation(t, e, call, Film, [2]string{"Cannes", "FR"})[0]
	ev := rvEvaluator(t, e, "PT")
	rvAssign(t, e, app, ev)
	return e, call, app, ev
}

// An evaluator never assesses a city of its own country, whatever the kind
// of evaluation; the refusal changes nothing and the evaluator never sees
// the dossier.
func TestReview_AssignRefusesAnEvaluatorOfTheDossiersOwnCountry(t *testing.T) {
	e, _, app, pt := rvSetup(t)
	ctx := context.Background()
	fr := rvEvaluator(t, e, "FR")
	for _, kind := range []string{engine.KindExpert, engine.KindMemberCity} {
		_, err := e.Service.Assign(ctx, e.Secretariat(t), app.ID, fr.UserID, kind)
		AssertCode(t, err, engine.ECONFLICT)
		if msg := engine.ErrorMessage(err); !strings.Contains(msg, "FR") {
			t.Errorf("refusal %q does not name the country", msg)
		}
	}
	list, err := e.Service.Assignments(ctx, e.Secretariat(t), app.ID)
	if err != nil || len(list) != 1 || list[0].Evaluator != pt.UserID {
		t.Fatalf("assignments %+v (%v), want the PT expert only", list, err)
	}
	_, err = e.Service.SaveReview(ctx, fr, app.ID, engine.ReviewEdit{Scores: rvAll(5)})
	AssertCode(t, err, engine.ENOTFOUND)
	_, err = e.Service.Application(ctx, fr, app.ID)
	AssertCode(t, err, engine.ENOTFOUND)
}

// A draft may hold some scores only, and a comment; it has no mean until
// every criterion is scored. Before the first save the evaluator reads an
// empty review at version 0.
func TestReview_DraftWithPartialScoresIsSaved(t *testing.T) {
	e, _, app, ev := rvSetup(t)
	empty := rvMine(t, e, ev, app)
	if empty.Version != 0 || len(empty.Scores) != 0 || empty.Final || empty.Mean != nil || empty.Application != app.ID ||
		empty.Evaluator != ev.UserID || empty.Kind != engine.KindExpert {
		t.Fatalf("review before any save: %+v, want an empty one at version 0", empty)
	}

	e.Clock.Add(time.Hour)
	draft := engine.ReviewEdit{Scores: map[string]int{"commitment": 4, "action-plan": 2}, Comment: "Strong commitment; the plan is thin."}
	rv := rvSave(t, e, ev, app, draft)
	if rv.Version != 1 || rv.Final || rv.Mean != nil || rv.Recommendation != "" || !reflect.DeepEqual(rv.Scores, draft.Scores) ||
		rv.Comment != draft.Comment || rv.Email != ev.Email || !rv.UpdatedAt.Equal(e.Clock.Now()) {
		t.Fatalf("saved draft %+v, want version 1, not final, no mean, the two scores", rv)
	}
	if back := rvMine(t, e, ev, app); !reflect.DeepEqual(back, rv) {
		t.Fatalf("read back %+v, want %+v", back, rv)
	}
	// The secretariat sees the draft, which counts in nothing.
	a := rvAssess(t, e, app)
	if len(a.Reviews) != 1 || a.Final != 0 || a.Mean != nil || a.Spread != 0 || a.Disagree {
		t.Fatalf("assessment of a draft: %+v, want one review counted nowhere", a)
	}

	// Completed, still a draft: its mean shows, and still counts nowhere.
	rv = rvSave(t, e, ev, app, engine.ReviewEdit{Scores: rvScores(4, 3, 2, 5, 3), Version: &rv.Version})
	if rv.Version != 2 || rv.Final || !rvSameMean(rv.Mean, 3.1) { // (8+6+6+5+6)/10
		t.Fatalf("complete draft %+v (mean %v), want version 2 with mean 3.1", rv, rvMean(rv.Mean))
	}
	if a := rvAssess(t, e, app); a.Final != 0 || a.Mean != nil {
		t.Fatalf("assessment of a complete draft: final %d, mean %v; want none", a.Final, rvMean(a.Mean))
	}
}

// A final review needs every criterion scored and a recommendation; the
// refusal names each missing field with its message key and stores
// nothing.
func TestReview_FinalNeedsEveryScoreAndARecommendation(t *testing.T) {
	e, _, app, ev := rvSetup(t)
	ctx := context.Background()
	kept := rvSave(t, e, ev, app, engine.ReviewEdit{Scores: map[string]int{"assets": 3}, Comment: "first thoughts"})

	cases := []struct {
		name string
		edit engine.ReviewEdit
		want map[string]string
	}{
		{"nothing", engine.ReviewEdit{Final: true}, map[string]string{
			"scores.commitment": "score_required", "scores.assets": "score_required", "scores.action-plan": "score_required",
			"scores.cooperation": "score_required", "scores.sustainability": "score_required", "recommendation": "recommendation_required"}},
		{"two scores missing, no recommendation",
			engine.ReviewEdit{Final: true, Scores: map[string]int{"commitment": 4, "assets": 4, "action-plan": 3}},
			map[string]string{"scores.cooperation": "score_required", "scores.sustainability": "score_required", "recommendation": "recommendation_required"}},
		{"every score, no recommendation", engine.ReviewEdit{Final: true, Scores: rvAll(4)},
			map[string]string{"recommendation": "recommendation_required"}},
		{"one score missing", engine.ReviewEdit{Final: true, Scores: rvScores(4, 4, 4, 4, 4), Recommendation: engine.Recommend},
			nil}, // filled in below
		{"an unknown recommendation", engine.ReviewEdit{Final: true, Scores: rvAll(4), Recommendation: "maybe"},
			map[string]string{"recommendation": "bad_recommendation"}},
	}
	delete(cases[3].edit.Scores, "cooperation")
	cases[3].want = map[string]string{"scores.cooperation": "score_required"}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Service.SaveReview(ctx, ev, app.ID, c.edit)
			AssertCode(t, err, engine.EINVALID)
			if got := rvTextKeys(err); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("field keys %v, want %v", got, c.want)
			}
			for k := range c.want {
				if engine.ErrorFields(err)[k] == "" {
					t.Errorf("field %s has no English message", k)
				}
			}
			if back := rvMine(t, e, ev, app); !reflect.DeepEqual(back, kept) {
				t.Fatalf("after a refused save the review is %+v, want %+v", back, kept)
			}
		})
	}
	// The missing criterion is named by its title.
	_, err := e.Service.SaveReview(ctx, ev, app.ID, cases[3].edit)
	if msg := engine.ErrorFields(err)["scores.cooperation"]; !strings.Contains(msg, "Cooperation") {
		t.Errorf("message %q does not name the criterion", msg)
	}
	// With everything, it is final.
	rv := rvSave(t, e, ev, app, rvFinal(rvAll(4), true))
	if !rv.Final || rv.Version != kept.Version+1 || !rvSameMean(rv.Mean, 4) {
		t.Fatalf("final review %+v, want final at the next version with mean 4", rv)
	}
}

// A score must be on the form's scale and for one of its criteria, in a
// draft as in a final review; a comment has a limit.
func TestReview_ScoreOffScaleIsRefused(t *testing.T) {
	e, _, app, ev := rvSetup(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		edit engine.ReviewEdit
		want map[string]string
	}{
		{"below the scale", engine.ReviewEdit{Scores: map[string]int{"assets": 0}},
			map[string]string{"scores.assets": "score_off_scale"}},
		{"above the scale", engine.ReviewEdit{Scores: map[string]int{"assets": 3, "cooperation": 6}},
			map[string]string{"scores.cooperation": "score_off_scale"}},
		{"negative", engine.ReviewEdit{Scores: map[string]int{"commitment": -1}},
			map[string]string{"scores.commitment": "score_off_scale"}},
		{"not a criterion", engine.ReviewEdit{Scores: map[string]int{"vision": 3}},
			map[string]string{"scores.vision": "not_a_criterion"}},
		{"off scale in a final review", func() engine.ReviewEdit {
			ed := rvFinal(rvAll(4), true)
			ed.Scores["action-plan"] = 9
			return ed
		}(), map[string]string{"scores.action-plan": "score_off_scale"}},
		{"a comment too long", engine.ReviewEdit{Comment: strings.Repeat("é", 5001)},
			map[string]string{"comment": "comment_too_long"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Service.SaveReview(ctx, ev, app.ID, c.edit)
			AssertCode(t, err, engine.EINVALID)
			if got := rvTextKeys(err); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("field keys %v, want %v", got, c.want)
			}
			if back := rvMine(t, e, ev, app); back.Version != 0 {
				t.Fatalf("a refused save stored version %d", back.Version)
			}
		})
	}
	_, err := e.Service.SaveReview(ctx, ev, app.ID, engine.ReviewEdit{Scores: map[string]int{"assets": 6}})
	if msg := engine.ErrorFields(err)["scores.assets"]; !strings.Contains(msg, "1") || !strings.Contains(msg, "5") {
		t.Errorf("message %q does not give the scale", msg)
	}
	// The ends of the scale and a comment at its limit are fine.
	rv := rvSave(t, e, ev, app, engine.ReviewEdit{Scores: map[string]int{"assets": 1, "cooperation": 5}, Comment: strings.Repeat("é", 5000)})
	if rv.Scores["assets"] != 1 || rv.Scores["cooperation"] != 5 {
		t.Fatalf("saved %+v", rv.Scores)
	}
}

// Only an assigned evaluator has a review: another evaluator is told the
// dossier does not exist, anybody else that reviews are not theirs.
func TestReview_OfADossierNotAssignedIsNotFound(t *testing.T) {
	e, _, app, _ := rvSetup(t)
	ctx := context.Background()
	cn := rvEvaluator(t, e, "CN")
	_, err := e.Service.SaveReview(ctx, cn, app.ID, engine.ReviewEdit{Scores: map[string]int{"assets": 3}})
	AssertCode(t, err, engine.ENOTFOUND)
	_, err = e.Service.MyReview(ctx, cn, app.ID)
	AssertCode(t, err, engine.ENOTFOUND)
	_, err = e.Service.DeclareConflict(ctx, cn, app.ID, "I know the mayor.")
	AssertCode(t, err, engine.ENOTFOUND)
	_, err = e.Service.SaveReview(ctx, cn, "0123456789ABCDEF", engine.ReviewEdit{})
	AssertCode(t, err, engine.ENOTFOUND)

	for _, who := range []engine.Actor{e.Secretariat(t), e.City(t, "Cannes", "FR"), e.Commission(t, "FR")} {
		_, err := e.Service.SaveReview(ctx, who, app.ID, engine.ReviewEdit{Scores: map[string]int{"assets": 3}})
		AssertCode(t, err, engine.EFORBIDDEN)
		_, err = e.Service.MyReview(ctx, who, app.ID)
		AssertCode(t, err, engine.EFORBIDDEN)
		_, err = e.Service.DeclareConflict(ctx, who, app.ID, "I know the mayor.")
		AssertCode(t, err, engine.EFORBIDDEN)
	}
	_, err = e.Service.SaveReview(ctx, engine.Actor{}, app.ID, engine.ReviewEdit{})
	AssertCode(t, err, engine.EUNAUTHORIZED)
	if a := rvAssess(t, e, app); len(a.Reviews) != 0 || len(a.Conflicts) != 0 {
		t.Fatalf("assessment after refusals: %+v", a)
	}
}

// Until the evaluation deadline (included) a review changes; after it,
// neither a draft nor a final save does, and the stored review stays as it
// was. The evaluator still reads it.
func TestReview_AfterTheEvaluationDeadlineNothingChanges(t *testing.T) {
	e, call, app, ev := rvSetup(t)
	ctx := context.Background()
	rvSave(t, e, ev, app, rvFinal(rvAll(3), false))
	e.MoveClockTo(t, call.EvaluationDeadline)
	kept := rvSave(t, e, ev, app, rvFinal(rvAll(4), true)) // at the deadline itself
	if kept.Version != 2 || !kept.UpdatedAt.Equal(call.EvaluationDeadline) {
		t.Fatalf("review at the deadline %+v, want version 2", kept)
	}

	e.MoveClockTo(t, call.EvaluationDeadline.Add(time.Second))
	v := kept.Version
	for name, edit := range map[string]engine.ReviewEdit{
		"draft":              {Scores: map[string]int{"assets": 1}, Comment: "second thoughts"},
		"final":              rvFinal(rvAll(1), false),
		"final, its version": {Scores: rvAll(2), Recommendation: engine.DoNotRecommend, Final: true, Version: &v},
	} {
		_, err := e.Service.SaveReview(ctx, ev, app.ID, edit)
		AssertCode(t, err, engine.EDEADLINEPASSED)
		if back := rvMine(t, e, ev, app); !reflect.DeepEqual(back, kept) {
			t.Fatalf("%s after the deadline: review %+v, want %+v", name, back, kept)
		}
	}
	if a := rvAssess(t, e, app); a.Final != 1 || !rvSameMean(a.Mean, 4) || a.Recommend != 1 {
		t.Fatalf("assessment after the deadline: %+v, want the review kept", a)
	}
}

// A final review is not the last word before the deadline: the evaluator
// revises its scores and its recommendation, and the assessment follows.
func TestReview_AFinalReviewCanBeRevisedBeforeTheDeadline(t *testing.T) {
	e, _, app, ev := rvSetup(t)
	first := rvSave(t, e, ev, app, rvFinal(rvScores(2, 2, 2, 2, 2), false))
	if a := rvAssess(t, e, app); a.DoNotRecommend != 1 || !rvSameMean(a.Mean, 2) {
		t.Fatalf("assessment %+v, want mean 2, not recommended", a)
	}
	e.Clock.Add(24 * time.Hour)
	second := rvSave(t, e, ev, app, engine.ReviewEdit{Scores: rvScores(5, 4, 4, 3, 5), Recommendation: engine.Recommend,
		Final: true, Comment: "Revised after the site visit.", Version: &first.Version})
	if second.Version != 2 || !second.Final || !rvSameMean(second.Mean, 4.3) || !second.UpdatedAt.After(first.UpdatedAt) { // (10+8+12+3+10)/10
		t.Fatalf("revised review %+v (mean %v), want version 2, final, mean 4.3", second, rvMean(second.Mean))
	}
	a := rvAssess(t, e, app)
	if len(a.Reviews) != 1 || a.Final != 1 || a.Recommend != 1 || a.DoNotRecommend != 0 || !rvSameMean(a.Mean, 4.3) ||
		a.Reviews[0].Comment != "Revised after the site visit." {
		t.Fatalf("assessment after the revision %+v, want the revised review alone", a)
	}
}

// A save that names a version other than the stored one is refused, so an
// evaluator with two windows open does not overwrite itself unknowingly.
func TestReview_StaleVersionIsRefused(t *testing.T) {
	e, _, app, ev := rvSetup(t)
	ctx := context.Background()
	one := 1
	_, err := e.Service.SaveReview(ctx, ev, app.ID, engine.ReviewEdit{Scores: map[string]int{"assets": 3}, Version: &one})
	AssertCode(t, err, engine.ESTALEVERSION) // there is none yet: version 0
	zero := 0
	rv := rvSave(t, e, ev, app, engine.ReviewEdit{Scores: map[string]int{"assets": 3}, Version: &zero})
	rv = rvSave(t, e, ev, app, engine.ReviewEdit{Scores: map[string]int{"assets": 4}, Version: &rv.Version})
	if rv.Version != 2 {
		t.Fatalf("version %d, want 2", rv.Version)
	}
	for _, v := range []int{0, 1, 3} {
		_, err := e.Service.SaveReview(ctx, ev, app.ID, rvAt(rvFinal(rvAll(5), true), v))
		AssertCode(t, err, engine.ESTALEVERSION)
		if msg := engine.ErrorMessage(err); !strings.Contains(msg, "2") {
			t.Errorf("refusal %q does not give the stored version", msg)
		}
		if back := rvMine(t, e, ev, app); !reflect.DeepEqual(back, rv) {
			t.Fatalf("after a stale save: %+v, want %+v", back, rv)
		}
	}
}

// A conflict of interest ends the assignment for good: the review begun is
// dropped, the declaration kept with its reason, the evaluator no longer
// sees the dossier, and the secretariat cannot assign it again. Taking an
// evaluator off a dossier (unassign) is not that: it may come back.
func TestConflict_EndsTheAssignmentForGood(t *testing.T) {
	e, _, app, pt := rvSetup(t)
	ctx := context.Background()
	cn := rvEvaluator(t, e, "CN")
	rvAssign(t, e, app, cn)
	rvSave(t, e, pt, app, engine.ReviewEdit{Scores: map[string]int{"assets": 5}, Comment: "begun"})
	rvSave(t, e, cn, app, rvFinal(rvAll(3), true))

	for _, reason := range []string{"", "   ", strings.Repeat("x", 2001)} {
		_, err := e.Service.DeclareConflict(ctx, pt, app.ID, reason)
		AssertCode(t, err, engine.EINVALID)
		if got := rvTextKeys(err); !reflect.DeepEqual(got, map[string]string{"reason": "reason_required"}) {
			t.Fatalf("field keys %v, want reason", got)
		}
	}
	if back := rvMine(t, e, pt, app); back.Version != 1 {
		t.Fatalf("a refused declaration changed the review: %+v", back)
	}

	e.Clock.Add(time.Hour)
	const reason = "I advised the city on its bid in 2025."
	c, err := e.Service.DeclareConflict(ctx, pt, app.ID, reason)
	if err != nil {
		t.Fatal(err)
	}
	if c.Application != app.ID || c.Evaluator != pt.UserID || c.Email != pt.Email || c.Reason != reason || !c.At.Equal(e.Clock.Now()) {
		t.Fatalf("conflict %+v", c)
	}

	list, err := e.Service.Assignments(ctx, e.Secretariat(t), app.ID)
	if err != nil || len(list) != 1 || list[0].Evaluator != cn.UserID {
		t.Fatalf("assignments %+v (%v), want the CN expert only", list, err)
	}
	a := rvAssess(t, e, app)
	if len(a.Conflicts) != 1 || !reflect.DeepEqual(a.Conflicts[0], *c) {
		t.Fatalf("conflicts %+v, want %+v", a.Conflicts, *c)
	}
	if len(a.Reviews) != 1 || a.Reviews[0].Evaluator != cn.UserID || a.Final != 1 {
		t.Fatalf("reviews %+v, want the CN review only", a.Reviews)
	}

	// The evaluator no longer sees the dossier, its review or its list.
	_, err = e.Service.Application(ctx, pt, app.ID)
	AssertCode(t, err, engine.ENOTFOUND)
	_, err = e.Service.MyReview(ctx, pt, app.ID)
	AssertCode(t, err, engine.ENOTFOUND)
	_, err = e.Service.SaveReview(ctx, pt, app.ID, engine.ReviewEdit{Scores: map[string]int{"assets": 5}})
	AssertCode(t, err, engine.ENOTFOUND)
	_, err = e.Service.DeclareConflict(ctx, pt, app.ID, reason)
	AssertCode(t, err, engine.ENOTFOUND)

	// Never again, whatever the kind, by the secretariat or the admin.
	for _, staff := range []engine.Actor{e.Secretariat(t), e.Admin(t)} {
		for _, kind := range []string{engine.KindExpert, engine.KindMemberCity} {
			_, err := e.Service.Assign(ctx, staff, app.ID, pt.UserID, kind)
			AssertCode(t, err, engine.ECONFLICT)
			if msg := engine.ErrorMessage(err); !strings.Contains(msg, reason) {
				t.Errorf("refusal %q does not give the declared reason", msg)
			}
		}
	}
	if list, _ := e.Service.Assignments(ctx, e.Secretariat(t), app.ID); len(list) != 1 {
		t.Fatalf("assignments after refused re-assignments: %+v", list)
	}

	// Unassigning the CN expert drops its review, but it may come back,
	// with a blank page.
	if err := e.Service.Unassign(ctx, e.Secretariat(t), app.ID, cn.UserID); err != nil {
		t.Fatal(err)
	}
	if a := rvAssess(t, e, app); len(a.Reviews) != 0 || a.Mean != nil || len(a.Conflicts) != 1 {
		t.Fatalf("assessment after unassigning: %+v", a)
	}
	rvAssign(t, e, app, cn)
	if back := rvMine(t, e, cn, app); back.Version != 0 || len(back.Scores) != 0 {
		t.Fatalf("re-assigned evaluator's review %+v, want an empty one", back)
	}
}

// The assessment: each review's weighted mean, the mean of the final ones,
// their spread and whether it reaches the disagreement threshold (a third
// of the 1–5 scale, 1.33…), and the recommendations of final reviews.
// The weights are 2, 2, 3, 1, 2; the means below are worked out by hand.
func TestAssessment_WeightedMeansSpreadAndDisagreement(t *testing.T) {
	e := MustOpenService(t)
	call := rvCall(t, e)
	app := rvUnderEvaluation(t, e, call, Film, [2]string{"Cannes", "FR"})[0]
	cn, br, ke, jp := rvEvaluator(t, e, "CN"), rvEvaluator(t, e, "BR"), rvEvaluator(t, e, "KE"), rvEvaluator(t, e, "JP")
	rvAssign(t, e, app, cn, br, ke, jp)

	if a := rvAssess(t, e, app); a.Application != app.ID || len(a.Reviews) != 0 || a.Mean != nil || a.Spread != 0 || a.Disagree || a.Final != 0 {
		t.Fatalf("assessment without reviews: %+v", a)
	}

	// One final review: a mean, no spread.
	rvSave(t, e, cn, app, rvFinal(rvScores(4, 5, 3, 2, 4), true)) // 8+10+9+2+8 = 37 → 3.7
	a := rvAssess(t, e, app)
	if !rvSameMean(a.Mean, 3.7) || a.Spread != 0 || a.Disagree || a.Final != 1 || a.Recommend != 1 {
		t.Fatalf("one review: %+v (mean %v), want mean 3.7, spread 0", a, rvMean(a.Mean))
	}

	rvSave(t, e, br, app, rvFinal(rvScores(5, 5, 4, 3, 5), true))  // 10+10+12+3+10 = 45 → 4.5
	rvSave(t, e, ke, app, rvFinal(rvScores(3, 4, 3, 5, 2), false)) // 6+8+9+5+4 = 32 → 3.2
	// A draft, complete and far off, counts in nothing.
	rvSave(t, e, jp, app, engine.ReviewEdit{Scores: rvAll(1), Recommendation: engine.DoNotRecommend})

	a = rvAssess(t, e, app)
	means := map[string]float64{}
	for _, r := range a.Reviews {
		means[r.Evaluator] = rvMean(r.Mean)
	}
	want := map[string]float64{cn.UserID: 3.7, br.UserID: 4.5, ke.UserID: 3.2, jp.UserID: 1}
	for id, m := range want {
		if math.Abs(means[id]-m) > 1e-9 {
			t.Errorf("review by %s: mean %v, want %v", id, means[id], m)
		}
	}
	// (3.7+4.5+3.2)/3 = 3.8; 4.5-3.2 = 1.3 < 4/3.
	if len(a.Reviews) != 4 || a.Final != 3 || !rvSameMean(a.Mean, 3.8) || math.Abs(a.Spread-1.3) > 1e-9 || a.Disagree ||
		a.Recommend != 2 || a.DoNotRecommend != 1 {
		t.Fatalf("three final reviews: final %d, mean %v, spread %v, disagree %v, %d/%d; want 3, 3.8, 1.3, false, 2/1",
			a.Final, rvMean(a.Mean), a.Spread, a.Disagree, a.Recommend, a.DoNotRecommend)
	}

	// KE lowers one score: 6+8+9+4+4 = 31 → 3.1; the spread, 1.4, is over
	// the threshold; the mean is 11.3/3 = 3.77.
	rvSave(t, e, ke, app, rvFinal(rvScores(3, 4, 3, 4, 2), false))
	a = rvAssess(t, e, app)
	if !rvSameMean(a.Mean, 3.77) || math.Abs(a.Spread-1.4) > 1e-9 || !a.Disagree {
		t.Fatalf("after KE's revision: mean %v, spread %v, disagree %v; want 3.77, 1.4, true", rvMean(a.Mean), a.Spread, a.Disagree)
	}

	// JP makes a review final with the lowest mean: 4+2+6+1+2 = 15 → 1.5;
	// the mean is 12.8/4 = 3.2, the spread 4.5-1.5 = 3.
	rvSave(t, e, jp, app, rvFinal(rvScores(2, 1, 2, 1, 1), false))
	a = rvAssess(t, e, app)
	if a.Final != 4 || !rvSameMean(a.Mean, 3.2) || math.Abs(a.Spread-3) > 1e-9 || !a.Disagree || a.Recommend != 2 || a.DoNotRecommend != 2 {
		t.Fatalf("four final reviews: final %d, mean %v, spread %v, disagree %v, %d/%d; want 4, 3.2, 3, true, 2/2",
			a.Final, rvMean(a.Mean), a.Spread, a.Disagree, a.Recommend, a.DoNotRecommend)
	}
}

// A call's own disagreement threshold replaces the default; a spread equal
// to it is a strong disagreement.
func TestAssessment_DisagreementThresholdOfTheCall(t *testing.T) {
	e := MustOpenService(t)
	c := NewCall(CallID, e.Clock.Now())
	c.Review = rvForm()
	c.Review.Disagreement = 0.5
	call := e.MustCreateCall(t, c)
	app := rvUnderEvaluation(t, e, call, Film, [2]string{"Cannes", "FR"})[0]
	cn, br := rvEvaluator(t, e, "CN"), rvEvaluator(t, e, "BR")
	rvAssign(t, e, app, cn, br)

	rvSave(t, e, cn, app, rvFinal(rvAll(3), true))
	rvSave(t, e, br, app, rvFinal(rvScores(3, 3, 3, 3, 5), true)) // 6+6+9+3+10 = 34 → 3.4
	if a := rvAssess(t, e, app); math.Abs(a.Spread-0.4) > 1e-9 || a.Disagree {
		t.Fatalf("spread %v, disagree %v; want 0.4 under the call's 0.5", a.Spread, a.Disagree)
	}
	rvSave(t, e, br, app, rvFinal(rvScores(3, 3, 3, 4, 5), true)) // 35 → 3.5
	if a := rvAssess(t, e, app); math.Abs(a.Spread-0.5) > 1e-9 || !a.Disagree || !rvSameMean(a.Mean, 3.25) {
		t.Fatalf("spread %v, disagree %v, mean %v; want 0.5 flagged, mean 3.25", a.Spread, a.Disagree, rvMean(a.Mean))
	}
}

// The ranking of one field: its dossiers under evaluation, recommended or
// not, by the mean of their final reviews, highest first, equal means by
// city; those without a final review last, by city. Dossiers of another
// field, not yet under evaluation or withdrawn are not in it.
func TestRanking_OrdersAFieldByMeanTiesByCityUnreviewedLast(t *testing.T) {
	e := MustOpenService(t)
	call := rvCall(t, e)
	ctx := context.Background()
	// Every dossier is endorsed before the close, then moved on: Ghent's
	// only to eligible, Liverpool's is in Music.
	specs := []struct{ city, country, field string }{
		{"Sevilla", "ES", Film}, {"Cannes", "FR", Film}, {"Bologna", "IT", Film}, {"Tampere", "FI", Film},
		{"Potsdam", "DE", Film}, {"Braga", "PT", Film}, {"Aalborg", "DK", Film}, {"Tartu", "EE", Film},
		{"Ghent", "BE", Film}, {"Liverpool", "GB", Music},
	}
	film := map[string]*engine.Application{}
	for _, s := range specs {
		film[s.city] = e.MustReach(t, call, e.City(t, s.city, s.country), s.field, engine.Endorsed)
	}
	for _, s := range specs {
		to := engine.UnderEvaluation
		if s.city == "Ghent" {
			to = engine.Eligible
		}
		film[s.city] = e.MustMoveOn(t, call, film[s.city], to)
	}
	music := film["Liverpool"]
	delete(film, "Liverpool")
	delete(film, "Ghent")
	cn, br := rvEvaluator(t, e, "CN"), rvEvaluator(t, e, "BR")
	for _, app := range film {
		rvAssign(t, e, app, cn, br)
	}
	rvAssign(t, e, music, cn)

	rvSave(t, e, cn, film["Sevilla"], rvFinal(rvAll(4), true))
	rvSave(t, e, br, film["Sevilla"], rvFinal(rvAll(4), true))               // 4
	rvSave(t, e, cn, film["Bologna"], rvFinal(rvAll(3), true))               // 3 and
	rvSave(t, e, br, film["Bologna"], rvFinal(rvAll(4), true))               // 4: 3.5
	rvSave(t, e, cn, film["Cannes"], rvFinal(rvScores(4, 3, 4, 3, 3), true)) // 8+6+12+3+6 = 35: 3.5
	rvSave(t, e, br, film["Cannes"], engine.ReviewEdit{Scores: rvAll(1)})    // a draft: not counted
	rvSave(t, e, cn, film["Tampere"], rvFinal(rvAll(2), false))              // 2
	rvSave(t, e, cn, film["Potsdam"], engine.ReviewEdit{Scores: rvAll(5)})   // a draft only: unreviewed
	rvSave(t, e, cn, film["Tartu"], rvFinal(rvAll(5), true))                 // withdrawn below
	rvSave(t, e, cn, music, rvFinal(rvAll(5), true))                         // another field
	e.MustMove(t, e.Secretariat(t), film["Sevilla"].ID, engine.EventRecommend, "")
	e.MustMove(t, e.Secretariat(t), film["Tampere"].ID, engine.EventNotRecommend, "")
	e.MustMove(t, e.City(t, "Tartu", "EE"), film["Tartu"].ID, engine.EventWithdraw, "")

	list, err := e.Service.Ranking(ctx, e.Secretariat(t), call.ID, Film)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		City  string
		State engine.State
		Mean  float64
		Final int
	}
	nan := math.NaN()
	want := []row{
		{"Sevilla", engine.Recommended, 4, 2},
		{"Bologna", engine.UnderEvaluation, 3.5, 2},
		{"Cannes", engine.UnderEvaluation, 3.5, 1},
		{"Tampere", engine.NotRecommended, 2, 1},
		{"Aalborg", engine.UnderEvaluation, nan, 0},
		{"Braga", engine.UnderEvaluation, nan, 0},
		{"Potsdam", engine.UnderEvaluation, nan, 0},
	}
	var got []row
	for i, r := range list {
		if r.Rank != i+1 {
			t.Errorf("item %d (%s) has rank %d", i, r.App.City, r.Rank)
		}
		if r.Assessment == nil || r.Assessment.Application != r.App.ID {
			t.Errorf("item %s has the assessment %+v", r.App.City, r.Assessment)
			continue
		}
		got = append(got, row{r.App.City, r.App.State, rvMean(r.Mean), r.Final})
	}
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		g, w := got[i], want[i]
		same = g.City == w.City && g.State == w.State && g.Final == w.Final &&
			(g.Mean == w.Mean || (math.IsNaN(g.Mean) && math.IsNaN(w.Mean)))
	}
	if !same {
		t.Fatalf("ranking\n got %+v\nwant %+v", got, want)
	}

	// The other field has its own ranking; a field without dossiers an
	// empty one.
	list, err = e.Service.Ranking(ctx, e.Admin(t), call.ID, Music)
	if err != nil || len(list) != 1 || list[0].App.ID != music.ID || list[0].Rank != 1 || !rvSameMean(list[0].Mean, 5) {
		t.Fatalf("Music ranking %+v (%v), want Liverpool alone", list, err)
	}
	list, err = e.Service.Ranking(ctx, e.Secretariat(t), call.ID, Gastronomy)
	if err != nil || len(list) != 0 {
		t.Fatalf("Gastronomy ranking %+v (%v), want none", list, err)
	}
	_, err = e.Service.Ranking(ctx, e.Secretariat(t), "no-such-call", Film)
	AssertCode(t, err, engine.ENOTFOUND)
}

// Assessments and rankings are the secretariat's (and the admin's): the
// city, its commission and the evaluators, even the one assigned, are
// refused; the public is asked to sign in; a draft does not exist for the
// secretariat.
func TestAssessmentAndRanking_AreTheSecretariats(t *testing.T) {
	e, call, app, pt := rvSetup(t)
	ctx := context.Background()
	rvSave(t, e, pt, app, rvFinal(rvAll(4), true))
	for _, who := range []engine.Actor{pt, rvEvaluator(t, e, "CN"), e.City(t, "Cannes", "FR"), e.City(t, "Rouen", "FR"),
		e.Commission(t, "FR"), e.Commission(t, "PT")} {
		_, err := e.Service.Assessment(ctx, who, app.ID)
		AssertCode(t, err, engine.EFORBIDDEN)
		_, err = e.Service.Ranking(ctx, who, call.ID, Film)
		AssertCode(t, err, engine.EFORBIDDEN)
	}
	_, err := e.Service.Assessment(ctx, engine.Actor{}, app.ID)
	AssertCode(t, err, engine.EUNAUTHORIZED)
	_, err = e.Service.Ranking(ctx, engine.Actor{}, call.ID, Film)
	AssertCode(t, err, engine.EUNAUTHORIZED)

	for _, staff := range []engine.Actor{e.Secretariat(t), e.Admin(t)} {
		a, err := e.Service.Assessment(ctx, staff, app.ID)
		if err != nil || a.Final != 1 {
			t.Fatalf("%s reads the assessment: %+v (%v)", staff.Role, a, err)
		}
		list, err := e.Service.Ranking(ctx, staff, call.ID, Film)
		if err != nil || len(list) != 1 || list[0].App.ID != app.ID {
			t.Fatalf("%s reads the ranking: %+v (%v)", staff.Role, list, err)
		}
	}
	// A draft in another call: not there for the secretariat.
	other := NewCall("other-call", e.Clock.Now())
	other.Review = rvForm()
	e.MustCreateCall(t, other)
	draft, err := e.Service.CreateApplication(ctx, e.City(t, "Lille", "FR"), engine.NewApplication{
		Call: "other-call", City: "Lille", Country: "FR", Field: Film, Language: "en"})
	if err != nil {
		t.Fatalf("start a draft in the other call: %v", err)
	}
	_, err = e.Service.Assessment(ctx, e.Secretariat(t), draft.ID)
	AssertCode(t, err, engine.ENOTFOUND)
	list, err := e.Service.Ranking(ctx, e.Secretariat(t), "other-call", Film)
	if err != nil || len(list) != 0 {
		t.Fatalf("ranking of a call with a draft only: %+v (%v), want none", list, err)
	}
}

// rvAt is the edit sent at version v.
func rvAt(edit engine.ReviewEdit, v int) engine.ReviewEdit {
	edit.Version = &v
	return edit
}
