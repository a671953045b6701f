package web

import (
	"net/http"
	"slices"
	"time"

	"designate/engine"
)

// The evaluation parts of the dossier page: the evaluator's own review form,
// and the secretariat's view of every assignment and review.

// criterionView is one scored criterion of a review form.
type criterionView struct {
	ID      string
	Title   engine.Localized
	Weight  float64
	Score   int
	Set     bool
	Options []int
}

type reviewView struct {
	Kind           string
	Version        int
	Final          bool
	Saved          bool
	UpdatedAt      time.Time
	Mean           *float64
	Criteria       []criterionView
	Comment        string
	Recommendation string
	Editable       bool
	Deadline       string
}

// reviewView is the evaluator's review of the dossier, or what it typed
// when the save was refused.
func (s *Server) reviewView(r *http.Request, t tr, call *engine.Call, app *engine.Application, typed *engine.ReviewEdit) (*reviewView, error) {
	rv, err := s.svc.MyReview(r.Context(), actorOf(r), app.ID)
	if err != nil {
		return nil, err
	}
	v := &reviewView{Kind: rv.Kind, Version: rv.Version, Final: rv.Final, Saved: rv.Version > 0, UpdatedAt: rv.UpdatedAt,
		Mean: rv.Mean, Comment: rv.Comment, Recommendation: rv.Recommendation,
		Deadline: t.When(call.EvaluationDeadline, call.TimeZone),
		// The state as the evaluator sees it: under evaluation until the
		// announcement, whatever the secretariat decided meanwhile.
		Editable: app.State == engine.UnderEvaluation && !s.svc.Now().After(call.EvaluationDeadline)}
	scores := rv.Scores
	if typed != nil {
		scores, v.Comment, v.Recommendation = typed.Scores, typed.Comment, typed.Recommendation
	}
	v.Criteria = criteriaOf(call, scores)
	return v, nil
}

func criteriaOf(call *engine.Call, scores map[string]int) []criterionView {
	var options []int
	for n := call.Review.ScaleMin; n <= call.Review.ScaleMax; n++ {
		options = append(options, n)
	}
	var out []criterionView
	for _, c := range call.Review.Criteria {
		score, set := scores[c.ID]
		out = append(out, criterionView{ID: c.ID, Title: c.Title, Weight: c.Weight, Score: score, Set: set, Options: options})
	}
	return out
}

// evaluationRow is one evaluator of the dossier with its review.
type evaluationRow struct {
	engine.Assignment
	Review *engine.Review
	Scores []criterionView
}

type evaluationView struct {
	Assessment *engine.Assessment
	Rows       []evaluationRow
	// Assignable are the evaluators the secretariat may assign now;
	// Barred the others, with why.
	Assignable []engine.Candidate
	Barred     []engine.Candidate
	CanAssign  bool
	// Evaluator and Kind are kept selected after a refused assignment, so
	// the message by the select is about the evaluator it names.
	Evaluator, Kind string
}

// evaluatedStates are those in which a dossier has, or had, evaluators.
var evaluatedStates = []engine.State{engine.UnderEvaluation, engine.Recommended, engine.NotRecommended, engine.Designated, engine.NotDesignated}

// evaluationView is the secretariat's view of the dossier's evaluation, or
// nil before it.
func (s *Server) evaluationView(r *http.Request, call *engine.Call, app *engine.Application, typed typedInput) (*evaluationView, error) {
	if !slices.Contains(evaluatedStates, app.State) {
		return nil, nil
	}
	a := actorOf(r)
	list, err := s.svc.Assignments(r.Context(), a, app.ID)
	if err != nil {
		return nil, err
	}
	as, err := s.svc.Assessment(r.Context(), a, app.ID)
	if err != nil {
		return nil, err
	}
	v := &evaluationView{Assessment: as, CanAssign: app.State == engine.UnderEvaluation, Evaluator: typed.Evaluator, Kind: typed.Kind}
	for _, asg := range list {
		row := evaluationRow{Assignment: asg}
		for i := range as.Reviews {
			if as.Reviews[i].Evaluator == asg.Evaluator {
				row.Review = &as.Reviews[i]
				row.Scores = criteriaOf(call, row.Review.Scores)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	if v.CanAssign {
		candidates, err := s.svc.Candidates(r.Context(), a, app.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range candidates {
			switch c.Barred {
			case "":
				v.Assignable = append(v.Assignable, c)
			case "assigned":
			default:
				v.Barred = append(v.Barred, c)
			}
		}
	}
	return v, nil
}
