package web

import (
	"net/http"

	"designate/engine"
)

// worklist returns the evaluator's assigned dossiers with its reviews.
func (s *Server) worklist(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Worklist(r.Context(), actorOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]engine.Task{"items": list})
}
