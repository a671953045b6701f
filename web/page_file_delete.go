package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageFileDelete deletes a file of the city's draft from the editor.
func (s *Server) pageFileDelete(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	n, ok := slotFile(vars["n"])
	if err := r.ParseForm(); err != nil || !ok {
		s.pageFail(w, r, engine.Errorf(engine.ENOTFOUND, "No such file."))
		return
	}
	version, err := versionParam(r.PostForm.Get("version"))
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	app, err := s.svc.Detach(r.Context(), actorOf(r), vars["id"], vars["slot"], n, version)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	redirectTo(w, r, "/dossiers/"+app.ID+"?notice=deleted#"+fieldID("attachments."+vars["slot"])+"-slot")
}
