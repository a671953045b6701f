package web

import (
	"net/http"

	"designate/engine"
)

// me returns the signed-in account.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	if a.Anonymous() {
		s.fail(w, r, engine.Errorf(engine.EUNAUTHORIZED, "Please sign in."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": a.UserID, "email": a.Email, "role": string(a.Role), "country": a.Country, "city": a.City, "language": a.Language})
}
