package engine

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// ReviewForm is how a call's evaluators assess a dossier: criteria, each
// scored on one scale and weighted, plus a comment and a recommendation.
type ReviewForm struct {
	Criteria []Criterion `json:"criteria"`
	ScaleMin int         `json:"scale_min" yaml:"scale_min"`
	ScaleMax int         `json:"scale_max" yaml:"scale_max"`
	// Disagreement is the spread between evaluators' weighted means from
	// which the secretariat is warned; 0 means a third of the scale.
	Disagreement float64 `json:"disagreement,omitempty"`
}

// Criterion is one scored part of a review.
type Criterion struct {
	ID     string    `json:"id"`
	Title  Localized `json:"title"`
	Weight float64   `json:"weight"`
}

// Recommendations an evaluator may give.
const (
	Recommend      = "recommend"
	DoNotRecommend = "do_not_recommend"
)

// Review is one evaluator's assessment of one dossier: a draft until the
// evaluator makes it final. Nothing changes after the evaluation deadline.
type Review struct {
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
	// Mean is the weighted mean of the scores, once every criterion has one.
	Mean *float64 `json:"mean,omitempty"`
}

// ReviewEdit is what an evaluator sends.
type ReviewEdit struct {
	Scores         map[string]int
	Comment        string
	Recommendation string
	Final          bool
	Version        *int
}

// Conflict is an evaluator's declaration that it cannot assess a dossier
// impartially; it ends the assignment for good.
type Conflict struct {
	Application string    `json:"application"`
	Evaluator   string    `json:"evaluator"`
	Email       string    `json:"email"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

const maxCommentChars = 5000

// validate checks the form when a call is created or changed.
func (r *ReviewForm) validate(f map[string]string) {
	if len(r.Criteria) == 0 {
		return // a call without a review form takes no reviews
	}
	if r.ScaleMin < 0 || r.ScaleMax <= r.ScaleMin || r.ScaleMax > 100 {
		f["review.scale_max"] = "the scale must run from scale_min (0 or more) up to a larger scale_max of at most 100"
	}
	if r.Disagreement < 0 {
		f["review.disagreement"] = "must not be negative"
	}
	for i, c := range r.Criteria {
		key := fmt.Sprintf("review.criteria[%d]", i)
		if !ValidSlug(c.ID) {
			f[key+".id"] = "must be lower-case letters, digits or dashes"
		} else if r.criterion(c.ID) != &r.Criteria[i] {
			f[key+".id"] = "is used by another criterion"
		}
		if !ValidText(c.Title.EN, 1, 300) || !ValidText(c.Title.FR, 1, 300) {
			f[key+".title"] = "needs an English and a French title of at most 300 characters"
		}
		if !(c.Weight > 0 && c.Weight <= 100) {
			f[key+".weight"] = "must be more than 0 and at most 100"
		}
	}
}

func (r *ReviewForm) criterion(id string) *Criterion {
	for i := range r.Criteria {
		if r.Criteria[i].ID == id {
			return &r.Criteria[i]
		}
	}
	return nil
}

// threshold is the spread that flags a strong disagreement.
func (r *ReviewForm) threshold() float64 {
	if r.Disagreement > 0 {
		return r.Disagreement
	}
	return float64(r.ScaleMax-r.ScaleMin) / 3
}

// mean is the weighted mean of a review's scores, or nil while one is
// missing.
func (r *ReviewForm) mean(scores map[string]int) *float64 {
	if len(r.Criteria) == 0 {
		return nil
	}
	var sum, weights float64
	for _, c := range r.Criteria {
		s, ok := scores[c.ID]
		if !ok {
			return nil
		}
		sum += c.Weight * float64(s)
		weights += c.Weight
	}
	m := math.Round(sum/weights*100) / 100
	return &m
}

// check refuses scores off the form, and for a final review anything
// missing.
func (r *ReviewForm) check(e ReviewEdit) error {
	f := map[string]Text{}
	if len(r.Criteria) == 0 {
		return Errorf(EINVALID, "This call has no review form.")
	}
	for id, s := range e.Scores {
		if r.criterion(id) == nil {
			f["scores."+id] = T("not_a_criterion")
		} else if s < r.ScaleMin || s > r.ScaleMax {
			f["scores."+id] = T("score_off_scale", r.ScaleMin, r.ScaleMax)
		}
	}
	if !validLongText(e.Comment, 4*maxCommentChars) || len([]rune(e.Comment)) > maxCommentChars {
		f["comment"] = T("comment_too_long", maxCommentChars)
	}
	if e.Recommendation != "" && e.Recommendation != Recommend && e.Recommendation != DoNotRecommend {
		f["recommendation"] = T("bad_recommendation")
	}
	if e.Final {
		for _, c := range r.Criteria {
			if _, ok := e.Scores[c.ID]; !ok && f["scores."+c.ID].Key == "" {
				f["scores."+c.ID] = T("score_required", c.Title)
			}
		}
		if e.Recommendation == "" {
			f["recommendation"] = T("recommendation_required")
		}
	}
	if len(f) > 0 {
		return FieldTexts(EINVALID, "The review cannot be saved.", f)
	}
	return nil
}

// SaveReview stores the evaluator's review of a dossier assigned to it,
// as a draft or final. A final review needs every score and a
// recommendation; it may still be revised until the evaluation deadline,
// after which no review changes. Returns EUNAUTHORIZED, ENOTFOUND (not
// assigned), EFORBIDDEN (not an evaluator), EINVALID, ESTALEVERSION,
// EINVALIDTRANSITION (the dossier is no longer under evaluation) or
// EDEADLINEPASSED.
func (s *Service) SaveReview(ctx context.Context, actor Actor, appID string, e ReviewEdit) (*Review, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleEvaluator {
		return nil, Errorf(EFORBIDDEN, "Only the dossier's evaluators write reviews.")
	}
	var out *Review
	err := s.store.Update(ctx, func(tx Tx) error {
		app, call, err := visibleInCall(tx, actor, appID)
		if err != nil {
			return err
		}
		if err := call.Review.check(e); err != nil {
			return err
		}
		now := s.clock.Now()
		if now.After(call.EvaluationDeadline) {
			return Errorf(EDEADLINEPASSED, "The evaluation deadline (%s) has passed: reviews can no longer change.", formatInstant(call.EvaluationDeadline, call))
		}
		// Reviews stay open until the deadline even when the secretariat
		// has decided early: refusing them then would tell the evaluator,
		// who sees the dossier as under evaluation, what the embargo hides.
		if !reviewable(app) {
			return Errorf(EINVALIDTRANSITION, "The dossier is no longer under evaluation.")
		}
		asg, err := assignmentOf(tx, appID, actor.UserID)
		if err != nil {
			return err
		}
		prev, err := tx.Review(appID, actor.UserID)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return err
		}
		version := 0
		if prev != nil {
			version = prev.Version
		}
		if e.Version != nil && *e.Version != version {
			return Errorf(ESTALEVERSION, "The review is at version %d, not %d: reload it.", version, *e.Version)
		}
		scores := map[string]int{}
		for k, v := range e.Scores {
			scores[k] = v
		}
		out = &Review{Application: appID, Evaluator: actor.UserID, Email: actor.Email, Kind: asg.Kind, Scores: scores,
			Comment: e.Comment, Recommendation: e.Recommendation, Final: e.Final, Version: version + 1, UpdatedAt: now,
			Mean: call.Review.mean(scores)}
		return tx.PutReview(out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// reviewable reports whether the dossier's reviews may change (the deadline
// aside): under evaluation, or decided but not yet announced.
func reviewable(app *Application) bool {
	return app.State == UnderEvaluation || app.State == Recommended || app.State == NotRecommended
}

func assignmentOf(tx ReadTx, appID, evaluatorID string) (*Assignment, error) {
	list, err := tx.Assignments(appID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Evaluator == evaluatorID {
			return &list[i], nil
		}
	}
	return nil, Errorf(ENOTFOUND, "No such dossier.")
}

// MyReview is the evaluator's own review of the dossier, or an empty one.
// Returns EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) MyReview(ctx context.Context, actor Actor, appID string) (*Review, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleEvaluator {
		return nil, Errorf(EFORBIDDEN, "Only evaluators have reviews of their own.")
	}
	var out *Review
	err := s.store.View(ctx, func(tx ReadTx) error {
		_, call, err := visibleInCall(tx, actor, appID)
		if err != nil {
			return err
		}
		asg, err := assignmentOf(tx, appID, actor.UserID)
		if err != nil {
			return err
		}
		out, err = tx.Review(appID, actor.UserID)
		if ErrorCode(err) == ENOTFOUND {
			out, err = &Review{Application: appID, Evaluator: actor.UserID, Email: actor.Email, Kind: asg.Kind, Scores: map[string]int{}}, nil
		}
		if err == nil {
			out.Mean = call.Review.mean(out.Scores)
		}
		return err
	})
	return out, err
}

// DeclareConflict ends the evaluator's assignment to the dossier because
// it cannot assess it impartially, keeps the declaration with its reason,
// and drops any review it had begun. The secretariat cannot assign that
// evaluator to the dossier again. Returns EUNAUTHORIZED, EFORBIDDEN,
// ENOTFOUND or EINVALID (no reason).
func (s *Service) DeclareConflict(ctx context.Context, actor Actor, appID, reason string) (*Conflict, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleEvaluator {
		return nil, Errorf(EFORBIDDEN, "Only an assigned evaluator declares a conflict of interest.")
	}
	if !validNote(reason, 2000) {
		return nil, FieldTexts(EINVALID, "A reason is required.", map[string]Text{"reason": T("reason_required")})
	}
	var out *Conflict
	err := s.store.Update(ctx, func(tx Tx) error {
		app, call, err := visibleInCall(tx, actor, appID)
		if err != nil {
			return err
		}
		if _, err := assignmentOf(tx, appID, actor.UserID); err != nil {
			return err
		}
		// Declaring drops the evaluator's review, so it obeys the same
		// locks as changing one.
		if s.clock.Now().After(call.EvaluationDeadline) {
			return Errorf(EDEADLINEPASSED, "The evaluation deadline (%s) has passed: reviews can no longer change.", formatInstant(call.EvaluationDeadline, call))
		}
		if !reviewable(app) {
			return Errorf(EINVALIDTRANSITION, "The dossier is no longer under evaluation.")
		}
		out = &Conflict{Application: appID, Evaluator: actor.UserID, Email: actor.Email, Reason: reason, At: s.clock.Now()}
		if err := tx.PutConflict(out); err != nil {
			return err
		}
		if err := tx.DeleteReview(appID, actor.UserID); err != nil {
			return err
		}
		return tx.DeleteAssignment(appID, actor.UserID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Assessment is what the secretariat sees of a dossier's reviews.
type Assessment struct {
	Application string     `json:"application"`
	Reviews     []Review   `json:"reviews"`
	Conflicts   []Conflict `json:"conflicts"`
	// Mean is the mean of the final reviews' weighted means.
	Mean *float64 `json:"mean"`
	// Spread is the highest final mean less the lowest.
	Spread         float64 `json:"spread"`
	Disagree       bool    `json:"strong_disagreement"`
	Final          int     `json:"final_reviews"`
	Recommend      int     `json:"recommend"`
	DoNotRecommend int     `json:"do_not_recommend"`
}

// Assessment gathers the dossier's reviews for the secretariat.
// Returns EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) Assessment(ctx context.Context, actor Actor, appID string) (*Assessment, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var out *Assessment
	err := s.store.View(ctx, func(tx ReadTx) error {
		_, call, err := visibleInCall(tx, actor, appID)
		if err != nil {
			return err
		}
		out, err = assess(tx, call, appID)
		return err
	})
	return out, err
}

func assess(tx ReadTx, call *Call, appID string) (*Assessment, error) {
	reviews, err := tx.Reviews(appID)
	if err != nil {
		return nil, err
	}
	conflicts, err := tx.Conflicts(appID)
	if err != nil {
		return nil, err
	}
	a := &Assessment{Application: appID, Reviews: []Review{}, Conflicts: conflicts}
	if a.Conflicts == nil {
		a.Conflicts = []Conflict{}
	}
	var means []float64
	for _, r := range reviews {
		r.Mean = call.Review.mean(r.Scores)
		a.Reviews = append(a.Reviews, r)
		if !r.Final || r.Mean == nil {
			continue
		}
		a.Final++
		means = append(means, *r.Mean)
		switch r.Recommendation {
		case Recommend:
			a.Recommend++
		case DoNotRecommend:
			a.DoNotRecommend++
		}
	}
	if len(means) > 0 {
		sum, lo, hi := 0.0, means[0], means[0]
		for _, m := range means {
			sum += m
			lo, hi = math.Min(lo, m), math.Max(hi, m)
		}
		mean := math.Round(sum/float64(len(means))*100) / 100
		a.Mean, a.Spread = &mean, math.Round((hi-lo)*100)/100
		a.Disagree = len(means) > 1 && a.Spread >= call.Review.threshold()
	}
	return a, nil
}

// Ranked is one dossier in a field's ranking.
type Ranked struct {
	Rank int      `json:"rank"`
	App  *Summary `json:"application"`
	*Assessment
}

// Ranking orders a call's dossiers under evaluation (and those already
// recommended or not) in one field by the mean of their final reviews,
// highest first; dossiers without a final review come last, by city.
// For the secretariat. Returns EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) Ranking(ctx context.Context, actor Actor, callID, field string) ([]Ranked, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if field == "" {
		return nil, FieldErrors(EINVALID, "Which field?", map[string]string{"field": "is required"})
	}
	var out []Ranked
	err := s.store.View(ctx, func(tx ReadTx) error {
		call, err := tx.Call(callID)
		if err != nil {
			return err
		}
		for _, st := range []State{UnderEvaluation, Recommended, NotRecommended} {
			err := eachApplication(tx, Query{Call: callID, State: st, Field: field}, func(app *Summary) error {
				a, err := assess(tx, call, app.ID)
				if err != nil {
					return err
				}
				out = append(out, Ranked{App: app, Assessment: a})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Mean, out[j].Mean
		switch {
		case a != nil && b != nil && *a != *b:
			return *a > *b
		case (a == nil) != (b == nil):
			return a != nil
		}
		return out[i].App.City < out[j].App.City
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out, nil
}

// Task is one dossier on an evaluator's list: what it is assessed as, the
// evaluator's review so far (nil before the first save) and until when it
// may change.
type Task struct {
	App      *Summary  `json:"application"`
	Kind     string    `json:"kind"`
	Review   *Review   `json:"review"`
	Deadline time.Time `json:"evaluation_deadline"`
	Zone     string    `json:"time_zone"`
}

// Worklist is the evaluator's assigned dossiers, in id order. Returns
// EUNAUTHORIZED or EFORBIDDEN (not an evaluator).
func (s *Service) Worklist(ctx context.Context, actor Actor) ([]Task, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleEvaluator {
		return nil, Errorf(EFORBIDDEN, "Only evaluators have dossiers to assess.")
	}
	out := []Task{}
	err := s.store.View(ctx, func(tx ReadTx) error {
		q, _ := scope(actor, Query{})
		calls := map[string]*Call{}
		return eachApplication(tx, q, func(app *Summary) error {
			call := calls[app.Call]
			if call == nil {
				var err error
				if call, err = tx.Call(app.Call); err != nil {
					return err
				}
				calls[app.Call] = call
			}
			asg, err := assignmentOf(tx, app.ID, actor.UserID)
			if err != nil {
				return err
			}
			shown, err := presentHead(tx, actor, call, app, s.clock.Now())
			if err != nil {
				return err
			}
			t := Task{App: shown, Kind: asg.Kind, Deadline: call.EvaluationDeadline, Zone: call.TimeZone}
			if r, err := tx.Review(app.ID, actor.UserID); err == nil {
				r.Mean = call.Review.mean(r.Scores)
				t.Review = r
			} else if ErrorCode(err) != ENOTFOUND {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}
