package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageConflict records the evaluator's conflict of interest on a dossier;
// the dossier leaves its list.
func (s *Server) pageConflict(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	a, id := actorOf(r), mux.Vars(r)["id"]
	if _, err := s.svc.DeclareConflict(r.Context(), a, id, r.PostForm.Get("reason")); err != nil {
		s.showRefusal(w, r, id, typedInput{}, err)
		return
	}
	redirectTo(w, r, "/reviews?notice=conflict")
}
