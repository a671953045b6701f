package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// applicationShow returns a dossier the caller may see.
func (s *Server) applicationShow(w http.ResponseWriter, r *http.Request) {
	app, err := s.svc.Application(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, app)
}
