package web

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageReviewSave stores the evaluator's review from the dossier page, as a
// draft or final; a refusal shows the form again as it was typed.
func (s *Server) pageReviewSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	a, id := actorOf(r), mux.Vars(r)["id"]
	app, err := s.svc.Application(r.Context(), a, id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	call, err := s.svc.Call(r.Context(), app.Call)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	f := r.PostForm
	edit := engine.ReviewEdit{Scores: map[string]int{}, Comment: f.Get("comment"), Recommendation: f.Get("recommendation"), Final: f.Get("final") == "1"}
	if n, err := strconv.Atoi(f.Get("version")); err == nil && n >= 0 {
		edit.Version = &n
	}
	for _, c := range call.Review.Criteria {
		v := f.Get("score." + c.ID)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			// Not a number is off the scale: the engine says so, by the
			// criterion, in the reader's language.
			n = call.Review.ScaleMin - 1
		}
		edit.Scores[c.ID] = n
	}
	rv, err := s.svc.SaveReview(r.Context(), a, id, edit)
	if err != nil {
		t := tr{lang: readerLanguage(r), c: s.catalog}
		s.showDossier(w, r, statusFor(w, err), app, typedInput{Review: &edit}, s.explain(t, err))
		return
	}
	notice := "review_saved"
	if rv.Final {
		notice = "review_final"
	}
	redirectTo(w, r, "/dossiers/"+id+"?notice="+notice)
}
