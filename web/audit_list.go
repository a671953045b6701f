package web

import (
	"net/http"
	"strconv"

	"designate/engine"
)

// auditList returns a page of the audit log, newest first (admin).
func (s *Server) auditList(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit := 0
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			s.fail(w, r, engine.FieldErrors(engine.EINVALID, "Bad limit.", map[string]string{"limit": "must be a whole number from 1 to 500"}))
			return
		}
		limit = n
	}
	events, next, err := s.svc.AuditLog(r.Context(), actorOf(r), v.Get("cursor"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": events, "next_cursor": next})
}
