package web

import (
	"net/http"

	"designate/engine"
)

// pageLoginPost signs in from the form and gives the browser its session
// cookie; a refusal shows the form again with the e-mail kept.
func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	email, next := r.PostForm.Get("email"), localPath(r.PostForm.Get("next"))
	token, user, err := s.svc.Login(r.Context(), email, r.PostForm.Get("password"), clientAddress(r))
	if err != nil {
		t := tr{lang: readerLanguage(r), c: s.catalog}
		pe := s.explain(t, err)
		pe.Fields = nil // one message: which of e-mail or password was wrong is not said
		s.render(w, r, statusFor(w, err), "login", view{Title: t.S("login.title"), Error: pe, Data: loginPageData{Next: next, Email: email}})
		return
	}
	// A language the visitor chose before signing in is a choice about
	// this account too: keep it with the account.
	if c, err := r.Cookie(languageCookie); err == nil && (c.Value == english || c.Value == french) && c.Value != user.Language {
		if err := s.svc.SetLanguage(r.Context(), engine.ActorOf(user), c.Value); err == nil {
			user.Language = c.Value
		}
	}
	setSessionCookie(w, r, token, int(s.svc.SessionTTL.Seconds()))
	if next == "/" || next == "/login" {
		next = homeOf(engine.ActorOf(user))
	}
	redirectTo(w, r, next)
}
