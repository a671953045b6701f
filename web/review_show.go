package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// reviewShow returns the evaluator's own review of a dossier assigned to it
// (an empty one before the first save).
func (s *Server) reviewShow(w http.ResponseWriter, r *http.Request) {
	rv, err := s.svc.MyReview(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rv)
}
