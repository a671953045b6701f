package web

import (
	"net/http"

	"designate/engine"
)

// logout ends the session the request came with.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	token, _ := r.Context().Value(tokenKey).(string)
	if token == "" {
		s.fail(w, r, engine.Errorf(engine.EUNAUTHORIZED, "Please sign in."))
		return
	}
	if err := s.svc.Logout(r.Context(), actorOf(r), token, clientAddress(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}
