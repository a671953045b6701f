package web

import (
	"net/http"
	"strconv"

	"designate/engine"
)

// exportReviews gives the secretariat every review of a call: JSON, or CSV
// with a row per review and a column per criterion.
func (s *Server) exportReviews(w http.ResponseWriter, r *http.Request) {
	ex, format, ok := s.readExport(w, r)
	if !ok {
		return
	}
	type row struct {
		Application string `json:"application"`
		City        string `json:"city"`
		Country     string `json:"country"`
		Field       string `json:"field"`
		engine.Review
	}
	var list []row
	for _, a := range ex.Applications {
		for _, rv := range a.Assessment.Reviews {
			list = append(list, row{Application: a.ID, City: a.City, Country: a.Country, Field: a.Field, Review: rv})
		}
	}
	if format == "json" {
		writeJSON(w, http.StatusOK, map[string]any{"call": ex.Call.ID, "criteria": nonNil(ex.Call.Review.Criteria), "items": nonNil(list)})
		return
	}
	header := []string{"application", "city", "country", "field", "evaluator", "kind", "final", "recommendation", "mean"}
	for _, c := range ex.Call.Review.Criteria {
		header = append(header, "score_"+c.ID)
	}
	header = append(header, "comment", "updated_at")
	var rows [][]string
	for _, x := range list {
		cells := []string{x.Application, x.City, x.Country, x.Field, x.Email, x.Kind, strconv.FormatBool(x.Final), x.Recommendation, csvFloat(x.Mean)}
		for _, c := range ex.Call.Review.Criteria {
			if v, ok := x.Scores[c.ID]; ok {
				cells = append(cells, strconv.Itoa(v))
			} else {
				cells = append(cells, "")
			}
		}
		rows = append(rows, append(cells, x.Comment, csvTime(&x.UpdatedAt)))
	}
	writeCSV(w, ex.Call.ID+"-reviews.csv", header, rows)
}
