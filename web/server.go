// Package web serves the engine over HTTP: the JSON API (and, later, the
// pages), with gorilla/mux routes, one handler per file.
package web

import (
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"designate/engine"
)

// Server routes requests to the engine.
type Server struct {
	svc     *engine.Service
	log     *slog.Logger
	router  *mux.Router
	pages   pageSet
	catalog catalog
	// handler is the router inside the middleware every answer passes
	// through, its own 404 and 405 included (mux.Router.Use skips those).
	handler http.Handler
}

// NewServer returns the HTTP handler of the whole application. It fails if
// a page template or a translation is broken, so that shows at start-up.
func NewServer(svc *engine.Service, log *slog.Logger) (*Server, error) {
	s := &Server{svc: svc, log: log, router: mux.NewRouter()}
	var err error
	if s.catalog, err = loadCatalog(); err != nil {
		return nil, err
	}
	s.pages, err = parsePages(template.FuncMap{
		"timeline": func(t tr, c *engine.Call) timelineView { return timeline(t, c, svc.Now()) },
	})
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	s.routes()
	// Cross-origin protection refuses a state-changing request a browser
	// sends from another site (CSRF), whatever carries its session; API
	// clients, which send no Origin or Sec-Fetch-Site, pass.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, engine.Errorf(engine.EFORBIDDEN, "Cross-origin request refused."))
	}))
	s.handler = s.recoverPanics(securityHeaders(csrf.Handler(limitBody(s.authenticate(s.router)))))
	return s, nil
}

func (s *Server) routes() {
	r := s.router
	// Routes match the path as sent: an escaped slash or dot (%2F, %2E) is
	// part of an id, not a separator, so "/applications/..%2F..%2Fx" is an
	// id that does not exist (404), not a path mux would clean and redirect
	// (301) to another resource.
	r.UseEncodedPath()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPage(r) {
			s.pageFail(w, r, engine.Errorf(engine.ENOTFOUND, "No such page."))
			return
		}
		s.fail(w, r, engine.Errorf(engine.ENOTFOUND, "No such endpoint."))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, engine.Errorf(errMethod, "This endpoint does not take %s.", r.Method))
	})
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet)

	// The API's routes are registered on r with their full path, not on a
	// PathPrefix subrouter: gorilla/mux 1.8.1 answers a wrong method on a
	// subrouter's route with 404 instead of 405 (gorilla/mux#751).
	const api = "/api/v1"
	r.HandleFunc(loginPath, s.login).Methods(http.MethodPost)
	r.HandleFunc(api+"/logout", s.logout).Methods(http.MethodPost)
	r.HandleFunc(api+"/calls", s.callsList).Methods(http.MethodGet)
	r.HandleFunc(api+"/calls", s.callCreate).Methods(http.MethodPost)
	r.HandleFunc(api+"/calls/{call}", s.callShow).Methods(http.MethodGet)
	r.HandleFunc(api+"/calls/{call}", s.callUpdate).Methods(http.MethodPut)
	r.HandleFunc(api+"/calls/{call}/transitions", s.callTransition).Methods(http.MethodPost)
	r.HandleFunc(api+"/calls/{call}/results", s.callResults).Methods(http.MethodGet)
	r.HandleFunc(api+"/calls/{call}/applications", s.applicationCreate).Methods(http.MethodPost)
	r.HandleFunc(api+"/applications", s.applicationsList).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}", s.applicationShow).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}", s.applicationSave).Methods(http.MethodPut)
	r.HandleFunc(api+"/applications/{id}/transitions", s.applicationTransition).Methods(http.MethodPost)
	r.HandleFunc(api+"/applications/{id}/history", s.applicationHistory).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}/attachments", s.attachmentsList).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}/attachments/{slot}", s.attachmentUpload).Methods(http.MethodPost)
	r.HandleFunc(api+"/applications/{id}/attachments/{slot}/{n}", s.attachmentDownload).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}/attachments/{slot}/{n}", s.attachmentReplace).Methods(http.MethodPut)
	r.HandleFunc(api+"/applications/{id}/attachments/{slot}/{n}", s.attachmentDelete).Methods(http.MethodDelete)
	r.HandleFunc(api+"/applications/{id}/assignments", s.assignmentsList).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}/assignments", s.assignmentCreate).Methods(http.MethodPost)
	r.HandleFunc(api+"/applications/{id}/assignments/{evaluator}", s.assignmentDelete).Methods(http.MethodDelete)
	r.HandleFunc(api+"/applications/{id}/candidates", s.candidatesList).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}/review", s.reviewShow).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}/review", s.reviewSave).Methods(http.MethodPut)
	r.HandleFunc(api+"/applications/{id}/conflict", s.conflictDeclare).Methods(http.MethodPost)
	r.HandleFunc(api+"/applications/{id}/assessment", s.assessmentShow).Methods(http.MethodGet)
	r.HandleFunc(api+"/calls/{call}/ranking", s.rankingShow).Methods(http.MethodGet)
	r.HandleFunc(api+"/calls/{call}/results/release", s.resultsRelease).Methods(http.MethodPost)
	r.HandleFunc(api+"/calls/{call}/export/applications", s.exportApplications).Methods(http.MethodGet)
	r.HandleFunc(api+"/calls/{call}/export/reviews", s.exportReviews).Methods(http.MethodGet)
	r.HandleFunc(api+"/outbox", s.outboxList).Methods(http.MethodGet)
	r.HandleFunc(api+"/outbox/counts", s.outboxCounts).Methods(http.MethodGet)
	r.HandleFunc(api+"/outbox/{id}/retry", s.outboxRetry).Methods(http.MethodPost)
	r.HandleFunc(api+"/users", s.usersList).Methods(http.MethodGet)
	r.HandleFunc(api+"/users", s.userCreate).Methods(http.MethodPost)
	r.HandleFunc(api+"/users/{id}", s.userUpdate).Methods(http.MethodPatch)
	r.HandleFunc(api+"/me", s.me).Methods(http.MethodGet)
	r.HandleFunc(api+"/me/password", s.passwordChange).Methods(http.MethodPost)
	r.HandleFunc(api+"/me/assignments", s.worklist).Methods(http.MethodGet)
	r.HandleFunc(api+"/audit", s.auditList).Methods(http.MethodGet)
	r.HandleFunc(api+"/admin/backup", s.adminBackup).Methods(http.MethodGet)

	s.pageRoutes()
}

// loginPath is where accounts sign in; its outcomes are audited by the engine.
const loginPath = "/api/v1/login"

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

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
