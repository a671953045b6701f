package web

import (
	"mime"
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// attachmentDownload sends file n of a slot to whoever may read the
// dossier: as a download of its stored type, never rendered by the browser
// in the site's origin, with range requests for resuming.
func (s *Server) attachmentDownload(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	n, ok := slotFile(vars["n"])
	if !ok {
		s.fail(w, r, engine.Errorf(engine.ENOTFOUND, "No such file."))
		return
	}
	at, f, err := s.svc.OpenAttachment(r.Context(), actorOf(r), vars["id"], vars["slot"], n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	allowSlowTransfer(w)
	h := w.Header()
	h.Set("Content-Type", at.MediaType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": at.DownloadName()}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+at.SHA256+`"`)
	http.ServeContent(w, r, "", f.ModTime(), f)
}
