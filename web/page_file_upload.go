package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageFileUpload takes a file from the editor's upload form. The verdict is
// the dossier page: a notice naming the file, or the refusal by its slot.
func (s *Server) pageFileUpload(w http.ResponseWriter, r *http.Request) {
	allowSlowTransfer(w)
	vars := mux.Vars(r)
	a := actorOf(r)
	up, err := readUpload(w, r, 0)
	if err == nil {
		var app *engine.Application
		if app, err = s.svc.Attach(r.Context(), a, vars["id"], vars["slot"], up); err == nil {
			redirectTo(w, r, "/dossiers/"+app.ID+"?notice=uploaded#"+fieldID("attachments."+vars["slot"])+"-slot")
			return
		}
	}
	s.showRefusal(w, r, vars["id"], typedInput{}, err)
}
