package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageDossierStart starts the city's draft in a call and opens its editor.
func (s *Server) pageDossierStart(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	a := actorOf(r)
	app, err := s.svc.CreateApplication(r.Context(), a, engine.NewApplication{Call: mux.Vars(r)["call"],
		City: a.City, Country: a.Country, Field: r.PostForm.Get("field"), Language: r.PostForm.Get("language")})
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	redirectTo(w, r, "/dossiers/"+app.ID+"?notice=started")
}
