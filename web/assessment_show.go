package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// assessmentShow gives the secretariat a dossier's reviews, their weighted
// means, the spread between evaluators and the conflicts declared.
func (s *Server) assessmentShow(w http.ResponseWriter, r *http.Request) {
	a, err := s.svc.Assessment(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
