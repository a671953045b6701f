package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"designate/engine"
)

type confirmPageData struct {
	ID, Event, Note string
	City, Field     string
	Version         int
	// Next is the page the move was asked from, to return to afterwards.
	Next string
}

// pageConfirm asks before a move: it changes nothing, and works without
// JavaScript.
func (s *Server) pageConfirm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	app, err := s.svc.Application(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	event := r.PostForm.Get("event")
	t := tr{lang: readerLanguage(r), c: s.catalog}
	if !t.Has("confirm." + event + ".title") {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Unknown event."))
		return
	}
	s.render(w, r, http.StatusOK, "confirm", view{Title: t.S("confirm." + event + ".title"),
		Data: confirmPageData{ID: app.ID, Event: event, City: app.City, Field: app.Field, Note: r.PostForm.Get("note"), Version: app.Version,
			Next: returnPath(r.PostForm.Get("next"))}})
}

// returnPath is a form's "next" kept on this site, or "" when there is none.
func returnPath(next string) string {
	if next == "" {
		return ""
	}
	return localPath(next)
}
