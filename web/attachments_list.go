package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"designate/engine"
)

// attachmentItem is a file in the list, with where to download it.
type attachmentItem struct {
	engine.Attachment
	URL string `json:"url"`
}

// attachmentsList lists a dossier's files with their size, type and digest.
func (s *Server) attachmentsList(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	list, err := s.svc.Attachments(r.Context(), actorOf(r), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]attachmentItem, len(list))
	for i, at := range list {
		items[i] = attachmentItem{at, fmt.Sprintf("/api/v1/applications/%s/attachments/%s/%d", url.PathEscape(id), url.PathEscape(at.Slot), at.N)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}
