package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageAssign gives the dossier to an evaluator, from the secretariat's
// dossier page.
func (s *Server) pageAssign(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	a, id := actorOf(r), mux.Vars(r)["id"]
	evaluator, kind := r.PostForm.Get("evaluator"), r.PostForm.Get("kind")
	if _, err := s.svc.Assign(r.Context(), a, id, evaluator, kind); err != nil {
		s.showRefusal(w, r, id, typedInput{Evaluator: evaluator, Kind: kind}, err)
		return
	}
	redirectTo(w, r, "/dossiers/"+id+"?notice=assigned#evaluation-h")
}
