package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// callShow returns one call.
func (s *Server) callShow(w http.ResponseWriter, r *http.Request) {
	call, err := s.svc.Call(r.Context(), mux.Vars(r)["call"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, call)
}
