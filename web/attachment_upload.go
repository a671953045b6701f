package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"
)

// attachmentUpload adds a file to a slot of the city's draft.
func (s *Server) attachmentUpload(w http.ResponseWriter, r *http.Request) {
	allowSlowTransfer(w)
	up, err := readUpload(w, r, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vars := mux.Vars(r)
	app, err := s.svc.Attach(r.Context(), actorOf(r), vars["id"], vars["slot"], up)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The new file is the last of its slot.
	n := 0
	for _, at := range app.Attachments {
		if at.Slot == vars["slot"] {
			n = at.N
		}
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/applications/%s/attachments/%s/%d", url.PathEscape(app.ID), url.PathEscape(vars["slot"]), n))
	answerDossier(w, r, http.StatusCreated, app)
}
