package web

import (
	"net/http"

	"designate/engine"
)

// usersList returns every account (admin).
func (s *Server) usersList(w http.ResponseWriter, r *http.Request) {
	users, err := s.svc.Users(r.Context(), actorOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]*engine.User{"items": users})
}
