package web

import "net/http"

// loginPageData is what the sign-in form shows again after a refusal.
type loginPageData struct {
	Next  string
	Email string
}

// pageLogin shows the sign-in form.
func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	if a := actorOf(r); a.Role != "" {
		redirectTo(w, r, homeOf(a))
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	s.render(w, r, http.StatusOK, "login", view{Title: t.S("login.title"), Data: loginPageData{Next: localPath(r.URL.Query().Get("next"))}})
}
