package web

import (
	"net/http"
)

// callCreate configures a new call (secretariat, admin).
func (s *Server) callCreate(w http.ResponseWriter, r *http.Request) {
	call, ok := s.readCall(w, r)
	if !ok {
		return
	}
	created, err := s.svc.CreateCall(r.Context(), actorOf(r), call)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/calls/"+created.ID)
	writeJSON(w, http.StatusCreated, created)
}
