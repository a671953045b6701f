package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/forms"
)

// applicationTransition fires a lifecycle event on a dossier.
func (s *Server) applicationTransition(w http.ResponseWriter, r *http.Request) {
	var form forms.TransitionForm
	if !s.readForm(w, r, &form) {
		return
	}
	app, err := s.svc.Transition(r.Context(), actorOf(r), mux.Vars(r)["id"], form.Move())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	answerDossier(w, r, http.StatusOK, app)
}
