package web

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"designate/engine"
)

type receiptPageData struct {
	App  *engine.Application
	At   time.Time
	Zone string
}

// pageReceipt is the submission receipt: the dossier's id, when it was
// submitted (in the call's zone, in UTC and, with JavaScript, the
// reader's), and the SHA-256 of what was submitted.
func (s *Server) pageReceipt(w http.ResponseWriter, r *http.Request) {
	app, err := s.svc.Application(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	if app.SubmittedAt == nil || app.SubmissionDigest == "" {
		redirectTo(w, r, "/dossiers/"+app.ID)
		return
	}
	call, err := s.svc.Call(r.Context(), app.Call)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	s.render(w, r, http.StatusOK, "receipt", view{Title: t.S("receipt.title"), Data: receiptPageData{App: app, At: *app.SubmittedAt, Zone: call.TimeZone}})
}
