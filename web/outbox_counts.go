package web

import "net/http"

// outboxCounts tells the staff how many messages are in each state: the
// backlog a load test waits to see drain.
func (s *Server) outboxCounts(w http.ResponseWriter, r *http.Request) {
	counts, err := s.svc.OutboxCounts(r.Context(), actorOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, counts)
}
