package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/forms"
)

// callTransition fires a call's move (secretariat, admin).
func (s *Server) callTransition(w http.ResponseWriter, r *http.Request) {
	var form forms.CallEventForm
	if !s.readForm(w, r, &form) {
		return
	}
	call, err := s.svc.FireCallEvent(r.Context(), actorOf(r), mux.Vars(r)["call"], form.Event)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, call)
}
