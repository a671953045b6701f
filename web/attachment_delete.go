package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// attachmentDelete removes file n of a slot of the city's draft; the files
// after it move up one place.
func (s *Server) attachmentDelete(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	n, ok := slotFile(vars["n"])
	if !ok {
		s.fail(w, r, engine.Errorf(engine.ENOTFOUND, "No such file."))
		return
	}
	version, err := versionParam(r.URL.Query().Get("version"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	app, err := s.svc.Detach(r.Context(), actorOf(r), vars["id"], vars["slot"], n, version)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	answerDossier(w, r, http.StatusOK, app)
}
