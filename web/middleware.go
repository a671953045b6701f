package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"designate/engine"
	"designate/forms"
)

type ctxKey int

const (
	actorKey ctxKey = iota
	tokenKey
	rawBodyKey
)

// actorOf is who the request comes from: the zero Actor for the public.
func actorOf(r *http.Request) engine.Actor {
	a, _ := r.Context().Value(actorKey).(engine.Actor)
	return a
}

// sessionCookie carries the session token of the web pages.
const sessionCookie = "designate_session"

// authenticate resolves the request's token, from the Authorization header
// (API clients) or the session cookie (the pages), to its actor. A request
// without one is the public's. An API request with a bad one is refused, so
// a client learns its session ended instead of silently seeing less; a page
// goes on as the public's (it asks to sign in where it must).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var token string
		fromCookie := false
		if h := r.Header.Get("Authorization"); h != "" {
			t, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				s.fail(w, r, engine.Errorf(engine.EUNAUTHORIZED, "Use an Authorization: Bearer <token> header."))
				return
			}
			token = strings.TrimSpace(t)
		} else if c, err := r.Cookie(sessionCookie); err == nil {
			token, fromCookie = c.Value, true
		} else {
			next.ServeHTTP(w, r)
			return
		}
		actor, err := s.svc.Authenticate(r.Context(), token)
		if err != nil {
			clearSessionCookie(w, r)
			if fromCookie && !strings.HasPrefix(r.URL.Path, "/api/") {
				// A page with an ended session goes on as a visitor's; the
				// page asks to sign in where it must.
				next.ServeHTTP(w, r)
				return
			}
			s.fail(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), actorKey, actor)
		ctx = context.WithValue(ctx, tokenKey, token)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// setSessionCookie gives a browser its session: not readable by scripts,
// not sent on cross-site requests, and only over TLS when served over TLS.
func setSessionCookie(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(sessionCookie); err == nil {
		setSessionCookie(w, r, "", -1)
	}
}

// limitBody caps every body; DecodeJSON turns the overflow into 413. A
// handler that takes a file asks for the body without this cap
// (uncappedBody) and sets its own, so no list of upload paths is kept here.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r = r.WithContext(context.WithValue(r.Context(), rawBodyKey, r.Body))
			r.Body = http.MaxBytesReader(w, r.Body, forms.MaxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// uncappedBody is the request's body before limitBody capped it, for a
// handler that reads a file and caps it itself.
func uncappedBody(r *http.Request) io.ReadCloser {
	if raw, ok := r.Context().Value(rawBodyKey).(io.ReadCloser); ok {
		return raw
	}
	return r.Body
}

// securityHeaders are sent with every answer.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged 500 instead of a dropped
// connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.fail(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
