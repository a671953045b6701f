package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"designate/engine"
	"designate/forms"
)

type ctxKey int

const (
	actorKey ctxKey = iota
	tokenKey
)

// actorOf is who the request comes from: the zero Actor for the public.
func actorOf(r *http.Request) engine.Actor {
	a, _ := r.Context().Value(actorKey).(engine.Actor)
	return a
}

// authenticate resolves a bearer token to its actor. A request without one
// is the public's; a request with a bad one is refused, so a client learns
// its token ended instead of silently seeing less.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			s.fail(w, r, engine.Errorf(engine.EUNAUTHORIZED, "Use an Authorization: Bearer <token> header."))
			return
		}
		actor, err := s.svc.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), actorKey, actor)
		ctx = context.WithValue(ctx, tokenKey, strings.TrimSpace(token))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody caps every body; DecodeJSON turns the overflow into 413.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, forms.MaxBody)
		}
		next.ServeHTTP(w, r)
	})
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
