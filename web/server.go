// Package web serves the engine over HTTP: the JSON API (and, later, the
// pages), with gorilla/mux routes, one handler per file.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"designate/engine"
)

// Server routes requests to the engine.
type Server struct {
	svc    *engine.Service
	log    *slog.Logger
	router *mux.Router
}

// NewServer returns the HTTP handler of the whole application.
func NewServer(svc *engine.Service, log *slog.Logger) *Server {
	s := &Server{svc: svc, log: log, router: mux.NewRouter()}
	s.routes()
	return s
}

func (s *Server) routes() {
	r := s.router
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, engine.Errorf(engine.ENOTFOUND, "No such endpoint."))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, engine.Errorf(errMethod, "This endpoint does not take %s.", r.Method))
	})
	r.Use(s.recoverPanics, securityHeaders, limitBody, s.authenticate)

	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet)

	api := r.PathPrefix("/api/v1").Subrouter()
	api.HandleFunc("/login", s.login).Methods(http.MethodPost)
	api.HandleFunc("/logout", s.logout).Methods(http.MethodPost)
	api.HandleFunc("/calls", s.callsList).Methods(http.MethodGet)
	api.HandleFunc("/calls", s.callCreate).Methods(http.MethodPost)
	api.HandleFunc("/calls/{call}", s.callShow).Methods(http.MethodGet)
	api.HandleFunc("/calls/{call}", s.callUpdate).Methods(http.MethodPut)
	api.HandleFunc("/calls/{call}/transitions", s.callTransition).Methods(http.MethodPost)
	api.HandleFunc("/calls/{call}/results", s.callResults).Methods(http.MethodGet)
	api.HandleFunc("/calls/{call}/applications", s.applicationCreate).Methods(http.MethodPost)
	api.HandleFunc("/applications", s.applicationsList).Methods(http.MethodGet)
	api.HandleFunc("/applications/{id}", s.applicationShow).Methods(http.MethodGet)
	api.HandleFunc("/applications/{id}", s.applicationSave).Methods(http.MethodPut)
	api.HandleFunc("/applications/{id}/transitions", s.applicationTransition).Methods(http.MethodPost)
	api.HandleFunc("/applications/{id}/history", s.applicationHistory).Methods(http.MethodGet)
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// HTTPServer returns an http.Server for the handler with every timeout set,
// so a slow or idle client cannot hold a connection for ever.
func HTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
