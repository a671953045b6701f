package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/forms"
)

// reviewSave stores the evaluator's review, draft or final.
func (s *Server) reviewSave(w http.ResponseWriter, r *http.Request) {
	var form forms.ReviewForm
	if !s.readForm(w, r, &form) {
		return
	}
	rv, err := s.svc.SaveReview(r.Context(), actorOf(r), mux.Vars(r)["id"], form.Edit())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rv)
}
