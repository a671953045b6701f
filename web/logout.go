package web

import (
	"net/http"

	"designate/engine"
)

// logout ends the session of the bearer token.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	token, _ := r.Context().Value(tokenKey).(string)
	if token == "" {
		s.fail(w, r, engine.Errorf(engine.EUNAUTHORIZED, "Please sign in."))
		return
	}
	if err := s.svc.Logout(r.Context(), token); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
