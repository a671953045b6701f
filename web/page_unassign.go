package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// pageUnassign takes the dossier back from an evaluator, with its review.
func (s *Server) pageUnassign(w http.ResponseWriter, r *http.Request) {
	a, v := actorOf(r), mux.Vars(r)
	if err := s.svc.Unassign(r.Context(), a, v["id"], v["evaluator"]); err != nil {
		s.showRefusal(w, r, v["id"], typedInput{}, err)
		return
	}
	redirectTo(w, r, "/dossiers/"+v["id"]+"?notice=unassigned#evaluation-h")
}
