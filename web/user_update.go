package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/forms"
)

// userUpdate changes an account's role, place, language or password, or
// disables it (admin).
func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request) {
	var form forms.UserChangeForm
	if !s.readForm(w, r, &form) {
		return
	}
	u, err := s.svc.UpdateUser(r.Context(), actorOf(r), mux.Vars(r)["id"], form.UserChange())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
