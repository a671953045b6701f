package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// pageRelease lets an announced call's result e-mails go.
func (s *Server) pageRelease(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.ReleaseResults(r.Context(), actorOf(r), mux.Vars(r)["call"]); err != nil {
		s.pageFail(w, r, err)
		return
	}
	redirectTo(w, r, "/outbox?notice=released")
}
