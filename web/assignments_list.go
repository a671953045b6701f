package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// assignmentsList returns a dossier's evaluators (secretariat).
func (s *Server) assignmentsList(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Assignments(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]engine.Assignment{"items": list})
}
