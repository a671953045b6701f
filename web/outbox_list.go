package web

import (
	"net/http"
	"strconv"
)

// outboxList shows the staff the outbox: pending, held, sent, and failed
// with the last error.
func (s *Server) outboxList(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	list, err := s.svc.Outbox(r.Context(), actorOf(r), r.URL.Query().Get("state"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(list)})
}
