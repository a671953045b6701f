package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
	"designate/forms"
)

// callUpdate changes a call's configuration (secretariat, admin).
func (s *Server) callUpdate(w http.ResponseWriter, r *http.Request) {
	var form forms.CallForm
	if !s.readForm(w, r, &form) {
		return
	}
	if form.ID != mux.Vars(r)["call"] {
		s.fail(w, r, engine.FieldErrors(engine.EINVALID, "The id in the body is not the call's.", map[string]string{"id": "must be the id in the URL"}))
		return
	}
	call, err := s.svc.UpdateCall(r.Context(), actorOf(r), form.Call())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, call)
}
