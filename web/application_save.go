package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/forms"
)

// applicationSave replaces a draft's content at the version the city read.
func (s *Server) applicationSave(w http.ResponseWriter, r *http.Request) {
	var form forms.DraftForm
	if !s.readForm(w, r, &form) {
		return
	}
	app, err := s.svc.SaveApplication(r.Context(), actorOf(r), mux.Vars(r)["id"], form.DraftEdit())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	answerDossier(w, r, http.StatusOK, app)
}
