package web

import (
	"net/http"
	"strconv"
)

// exportApplications gives the secretariat a call's dossiers, as JSON (the
// whole dossiers with their reviews) or CSV (a row per dossier).
func (s *Server) exportApplications(w http.ResponseWriter, r *http.Request) {
	ex, format, ok := s.readExport(w, r)
	if !ok {
		return
	}
	if format == "json" {
		writeJSON(w, http.StatusOK, ex)
		return
	}
	header := []string{"id", "call", "city", "country", "field", "language", "state", "version", "submitted_at", "updated_at",
		"submission_digest", "files", "final_reviews", "mean", "spread", "strong_disagreement", "recommend", "do_not_recommend"}
	var rows [][]string
	for _, a := range ex.Applications {
		as := a.Assessment
		rows = append(rows, []string{a.ID, a.Call, a.City, a.Country, a.Field, a.Language, string(a.State), strconv.Itoa(a.Version),
			csvTime(a.SubmittedAt), csvTime(&a.UpdatedAt), a.SubmissionDigest, strconv.Itoa(len(a.Attachments)),
			strconv.Itoa(as.Final), csvFloat(as.Mean), strconv.FormatFloat(as.Spread, 'f', 2, 64), strconv.FormatBool(as.Disagree),
			strconv.Itoa(as.Recommend), strconv.Itoa(as.DoNotRecommend)})
	}
	writeCSV(w, ex.Call.ID+"-applications.csv", header, rows)
}
