package web

import (
	"net/http"

	"designate/engine"
)

// callsList returns every call; calls and their timelines are public.
func (s *Server) callsList(w http.ResponseWriter, r *http.Request) {
	calls, err := s.svc.Calls(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]*engine.Call{"items": calls})
}
