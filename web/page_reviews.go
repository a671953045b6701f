package web

import (
	"net/http"

	"designate/engine"
)

// pageReviews is the evaluator's home: the dossiers assigned to it, what
// it is consulted as, and how far its review is.
func (s *Server) pageReviews(w http.ResponseWriter, r *http.Request) {
	a, _, ok := s.roleHome(w, r, func(a engine.Actor) bool { return a.Role == engine.RoleEvaluator })
	if !ok {
		return
	}
	tasks, err := s.svc.Worklist(r.Context(), a)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	s.render(w, r, http.StatusOK, "reviews", view{Title: t.S("reviews.title"), Data: tasks})
}
