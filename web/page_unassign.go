package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageUnassign takes the dossier back from an evaluator, with its review.
func (s *Server) pageUnassign(w http.ResponseWriter, r *http.Request) {
	a, v := actorOf(r), mux.Vars(r)
	if err := s.svc.Unassign(r.Context(), a, v["id"], v["evaluator"]); err != nil {
		app, aerr := s.svc.Application(r.Context(), a, v["id"])
		if aerr != nil {
			s.pageFail(w, r, aerr)
			return
		}
		t := tr{lang: readerLanguage(r), c: s.catalog}
		s.showDossier(w, r, statusOf[engine.ErrorCode(err)], app, typedInput{}, s.explain(t, err))
		return
	}
	redirectTo(w, r, "/dossiers/"+v["id"]+"?notice=unassigned#evaluation-h")
}
