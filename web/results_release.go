package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// resultsRelease lets the call's result e-mails leave the outbox, from the
// announcement on.
func (s *Server) resultsRelease(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.ReleaseResults(r.Context(), actorOf(r), mux.Vars(r)["call"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"call": mux.Vars(r)["call"], "released": n})
}
