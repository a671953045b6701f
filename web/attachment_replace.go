package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// attachmentReplace puts a new file in the place of file n of a slot.
func (s *Server) attachmentReplace(w http.ResponseWriter, r *http.Request) {
	allowSlowTransfer(w)
	vars := mux.Vars(r)
	n, ok := slotFile(vars["n"])
	if !ok {
		s.fail(w, r, engine.Errorf(engine.ENOTFOUND, "No such file."))
		return
	}
	up, err := readUpload(w, r, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	app, err := s.svc.Attach(r.Context(), actorOf(r), vars["id"], vars["slot"], up)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	answerDossier(w, r, http.StatusOK, app)
}
