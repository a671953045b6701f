package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/forms"
)

// assignmentCreate gives a dossier under evaluation to an evaluator
// (secretariat); one of the dossier's own country is refused.
func (s *Server) assignmentCreate(w http.ResponseWriter, r *http.Request) {
	var form forms.AssignmentForm
	if !s.readForm(w, r, &form) {
		return
	}
	a, err := s.svc.Assign(r.Context(), actorOf(r), mux.Vars(r)["id"], form.Evaluator, form.Kind)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}
