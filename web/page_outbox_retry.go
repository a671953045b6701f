package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// pageOutboxRetry puts a failed message back in the queue.
func (s *Server) pageOutboxRetry(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.RetryMessage(r.Context(), actorOf(r), mux.Vars(r)["id"]); err != nil {
		s.pageFail(w, r, err)
		return
	}
	redirectTo(w, r, "/outbox?notice=retried")
}
