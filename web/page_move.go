package web

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageMove fires a confirmed move; a submission leads to its receipt.
func (s *Server) pageMove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	version, err := versionParam(r.PostForm.Get("version"))
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	m := engine.Move{Event: r.PostForm.Get("event"), Note: r.PostForm.Get("note"), Version: version}
	a := actorOf(r)
	id := mux.Vars(r)["id"]
	app, err := s.svc.Transition(r.Context(), a, id, m)
	if err != nil {
		// Each move has its own reason box: the message goes by the one
		// of the refused move.
		s.showRefusal(w, r, id, typedInput{}, err, func(pe *pageError) {
			if msg, ok := pe.Fields["note"]; ok {
				delete(pe.Fields, "note")
				pe.Fields["note-"+m.Event] = msg
			}
		})
		return
	}
	if m.Event == engine.EventSubmit {
		redirectTo(w, r, "/dossiers/"+app.ID+"/receipt")
		return
	}
	if next := returnPath(r.PostForm.Get("next")); next != "" {
		redirectTo(w, r, withNotice(next, "moved"))
		return
	}
	redirectTo(w, r, "/dossiers/"+app.ID+"?notice=moved")
}

// withNotice adds the notice to a local path's query.
func withNotice(path, notice string) string {
	u, err := url.Parse(path)
	if err != nil {
		return "/?notice=" + notice
	}
	q := u.Query()
	q.Set("notice", notice)
	u.RawQuery = q.Encode()
	return u.String()
}
