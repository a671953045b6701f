package web

import (
	"net"
	"net/http"

	"designate/engine"
	"designate/forms"
)

// loginResponse is what a successful sign-in returns.
type loginResponse struct {
	Token string       `json:"token"`
	User  *engine.User `json:"user"`
}

// login checks an e-mail and password and returns a bearer token.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var form forms.LoginForm
	if !s.readForm(w, r, &form) {
		return
	}
	token, user, err := s.svc.Login(r.Context(), form.Email, form.Password, clientAddress(r))
	if err != nil {
		// The engine records its own refusals (login_failed).
		s.failRecorded(w, r, err)
		return
	}
	if form.SessionCookie {
		setSessionCookie(w, r, token, int(s.svc.SessionTTL.Seconds()))
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: token, User: user})
}

// clientAddress is the peer's IP address, which failed sign-ins are counted
// against. (Behind a reverse proxy it is the proxy's.)
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
