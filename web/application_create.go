package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/forms"
)

// applicationCreate starts a city's draft in a call.
func (s *Server) applicationCreate(w http.ResponseWriter, r *http.Request) {
	var form forms.ApplicationForm
	if !s.readForm(w, r, &form) {
		return
	}
	app, err := s.svc.CreateApplication(r.Context(), actorOf(r), form.NewApplication(mux.Vars(r)["call"]))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/applications/"+app.ID)
	answerDossier(w, r, http.StatusCreated, app)
}
