package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// candidatesList returns the evaluator accounts the secretariat may assign
// to a dossier, and why the others may not be.
func (s *Server) candidatesList(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Candidates(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]engine.Candidate{"items": nonNil(list)})
}
