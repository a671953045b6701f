package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// callResults returns the designated cities of an announced call, to anyone;
// before the announcement the results do not exist (404).
func (s *Server) callResults(w http.ResponseWriter, r *http.Request) {
	res, err := s.svc.Results(r.Context(), mux.Vars(r)["call"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
