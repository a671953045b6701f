package web

import (
	"net/http"

	"designate/forms"
)

// userCreate makes an account (admin).
func (s *Server) userCreate(w http.ResponseWriter, r *http.Request) {
	var form forms.UserForm
	if !s.readForm(w, r, &form) {
		return
	}
	u, err := s.svc.CreateUser(r.Context(), actorOf(r), form.NewUser())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
}
