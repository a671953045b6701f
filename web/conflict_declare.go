package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/forms"
)

// conflictDeclare records an evaluator's conflict of interest and ends its
// assignment.
func (s *Server) conflictDeclare(w http.ResponseWriter, r *http.Request) {
	var form forms.ConflictForm
	if !s.readForm(w, r, &form) {
		return
	}
	c, err := s.svc.DeclareConflict(r.Context(), actorOf(r), mux.Vars(r)["id"], form.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}
