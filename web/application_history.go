package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// applicationHistory returns a dossier's moves, oldest first.
func (s *Server) applicationHistory(w http.ResponseWriter, r *http.Request) {
	events, err := s.svc.History(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]engine.HistoryEvent{"items": events})
}
