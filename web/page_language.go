package web

import (
	"net/http"
	"time"
)

// pageLanguage switches the pages' language: for an account, remembered
// with the account (every device follows); for a visitor, in a cookie.
func (s *Server) pageLanguage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		redirectTo(w, r, "/")
		return
	}
	lang, next := r.PostForm.Get("language"), localPath(r.PostForm.Get("next"))
	if lang != english && lang != french {
		redirectTo(w, r, next)
		return
	}
	if a := actorOf(r); a.Role != "" {
		if err := s.svc.SetLanguage(r.Context(), a, lang); err != nil {
			s.pageFail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: languageCookie, Value: lang, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	redirectTo(w, r, next)
}
