package web

import (
	"net/http"
	"strings"
)

// pageRoutes registers the pages. Every POST is a form answered with a
// redirect (or the page again, with what was refused); no GET changes
// anything. Access is the engine's, as for the API.
func (s *Server) pageRoutes() {
	r := s.router
	r.PathPrefix("/static/").Handler(staticHandler()).Methods(http.MethodGet)
	r.HandleFunc("/", s.pageHome).Methods(http.MethodGet)
	r.HandleFunc("/login", s.pageLogin).Methods(http.MethodGet)
	r.HandleFunc("/login", s.pageLoginPost).Methods(http.MethodPost)
	r.HandleFunc("/logout", s.pageLogout).Methods(http.MethodPost)
	r.HandleFunc("/language", s.pageLanguage).Methods(http.MethodPost)
	r.HandleFunc("/help", s.pageHelp).Methods(http.MethodGet)
	r.HandleFunc("/city", s.pageCity).Methods(http.MethodGet)
	r.HandleFunc("/commission", s.pageCommission).Methods(http.MethodGet)
	r.HandleFunc("/board", s.pageBoard).Methods(http.MethodGet)
	r.HandleFunc("/calls/{call}/results", s.pageResults).Methods(http.MethodGet)
	r.HandleFunc("/calls/{call}/calendar.ics", s.pageCalendar).Methods(http.MethodGet)
	r.HandleFunc("/demo/clock", s.pageDemoClock).Methods(http.MethodGet)
	r.HandleFunc("/demo/clock", s.pageDemoClockJump).Methods(http.MethodPost)
	r.HandleFunc("/calls/{call}/dossiers", s.pageDossierStart).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}", s.pageDossier).Methods(http.MethodGet)
	r.HandleFunc("/dossiers/{id}", s.pageDossierSave).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}/files/{slot}", s.pageFileUpload).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}/files/{slot}/{n}/delete", s.pageFileDelete).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}/confirm", s.pageConfirm).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}/move", s.pageMove).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}/receipt", s.pageReceipt).Methods(http.MethodGet)
	r.HandleFunc("/dossiers/{id}/review", s.pageReviewSave).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}/conflict", s.pageConflict).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}/assignments", s.pageAssign).Methods(http.MethodPost)
	r.HandleFunc("/dossiers/{id}/assignments/{evaluator}/delete", s.pageUnassign).Methods(http.MethodPost)
	r.HandleFunc("/reviews", s.pageReviews).Methods(http.MethodGet)
	r.HandleFunc("/calls/{call}/ranking", s.pageRanking).Methods(http.MethodGet)
	r.HandleFunc("/calls/{call}/results/release", s.pageRelease).Methods(http.MethodPost)
	r.HandleFunc("/outbox", s.pageOutbox).Methods(http.MethodGet)
	r.HandleFunc("/outbox/{id}/retry", s.pageOutboxRetry).Methods(http.MethodPost)
}

// isPage reports whether the request is for a page rather than the API.
func isPage(r *http.Request) bool {
	return !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/healthz"
}
