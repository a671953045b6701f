package web

import (
	"net/http"

	"designate/forms"
)

// passwordChange sets the caller's own password; every session of the
// account ends, this one included.
func (s *Server) passwordChange(w http.ResponseWriter, r *http.Request) {
	var form forms.PasswordForm
	if !s.readForm(w, r, &form) {
		return
	}
	if err := s.svc.ChangePassword(r.Context(), actorOf(r), form.Current, form.New); err != nil {
		s.fail(w, r, err)
		return
	}
	clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}
