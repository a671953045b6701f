package web

import (
	"net/http"

	"designate/forms"
)

// callCreate configures a new call (secretariat, admin).
func (s *Server) callCreate(w http.ResponseWriter, r *http.Request) {
	var form forms.CallForm
	if !s.readForm(w, r, &form) {
		return
	}
	call, err := s.svc.CreateCall(r.Context(), actorOf(r), form.Call())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/calls/"+call.ID)
	writeJSON(w, http.StatusCreated, call)
}
