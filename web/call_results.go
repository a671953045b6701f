package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// callResults returns the designated cities of an announced call, to anyone,
// as JSON or (?format=csv) CSV; before the announcement the results do not
// exist (404).
func (s *Server) callResults(w http.ResponseWriter, r *http.Request) {
	format, err := exportFormat(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.svc.Results(r.Context(), mux.Vars(r)["call"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if format == "json" {
		writeJSON(w, http.StatusOK, res)
		return
	}
	var rows [][]string
	for _, it := range res.Items {
		rows = append(rows, []string{res.Call, it.City, it.Country, it.Field})
	}
	writeCSV(w, res.Call+"-results.csv", []string{"call", "city", "country", "field"}, rows)
}
