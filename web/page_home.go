package web

import (
	"net/http"

	"designate/engine"
)

// homePageData is the public list of calls.
type homePageData struct {
	Calls []*engine.Call
}

// pageHome lists the calls with their timelines, for everybody.
func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) {
	calls, err := s.svc.Calls(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	s.render(w, r, http.StatusOK, "home", view{Title: t.S("home.title"), Data: homePageData{Calls: calls}})
}
