package web

import "net/http"

// healthz answers 200 when the store answers, for load balancers and probes.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Healthy(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
