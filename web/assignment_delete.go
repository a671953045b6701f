package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// assignmentDelete takes a dossier back from an evaluator (secretariat).
func (s *Server) assignmentDelete(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := s.svc.Unassign(r.Context(), actorOf(r), v["id"], v["evaluator"]); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
