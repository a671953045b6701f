package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

// callUpdate changes a call's configuration (secretariat, admin).
func (s *Server) callUpdate(w http.ResponseWriter, r *http.Request) {
	call, ok := s.readCall(w, r)
	if !ok {
		return
	}
	if call.ID != mux.Vars(r)["call"] {
		s.fail(w, r, engine.FieldErrors(engine.EINVALID, "The id in the body is not the call's.", map[string]string{"id": "must be the id in the URL"}))
		return
	}
	updated, err := s.svc.UpdateCall(r.Context(), actorOf(r), call)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, updated)
}
