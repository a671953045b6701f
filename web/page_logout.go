package web

import "net/http"

// pageLogout ends the browser's session.
func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request) {
	if token, ok := r.Context().Value(tokenKey).(string); ok {
		_ = s.svc.Logout(r.Context(), actorOf(r), token, clientAddress(r))
	}
	clearSessionCookie(w, r)
	redirectTo(w, r, "/?notice=signedout")
}
