package web

import (
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
	token, user, err := s.svc.Login(r.Context(), form.Email, form.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: token, User: user})
}
