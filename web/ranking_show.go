package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// rankingShow orders a call's evaluated dossiers in one field by their
// reviews' mean (secretariat).
func (s *Server) rankingShow(w http.ResponseWriter, r *http.Request) {
	field := r.URL.Query().Get("field")
	list, err := s.svc.Ranking(r.Context(), actorOf(r), mux.Vars(r)["call"], field)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"call": mux.Vars(r)["call"], "field": field, "items": nonNil(list)})
}
