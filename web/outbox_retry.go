package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// outboxRetry puts a failed message back in the queue.
func (s *Server) outboxRetry(w http.ResponseWriter, r *http.Request) {
	m, err := s.svc.RetryMessage(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}
