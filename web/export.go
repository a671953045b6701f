package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"designate/engine"
)

// exportFormat reads ?format=, csv or json (the default).
func exportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return "json", nil
	case "csv":
		return "csv", nil
	default:
		return "", engine.FieldErrors(engine.EINVALID, "Unknown format.", map[string]string{"format": "must be csv or json"})
	}
}

// readExport reads the format and the call's export for the export
// handlers; ok is false when the refusal has been written.
func (s *Server) readExport(w http.ResponseWriter, r *http.Request) (ex *engine.Export, format string, ok bool) {
	format, err := exportFormat(r)
	if err == nil {
		ex, err = s.svc.ExportCall(r.Context(), actorOf(r), mux.Vars(r)["call"])
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, "", false
	}
	return ex, format, true
}

// writeCSV sends rows as a UTF-8 CSV download with a header row. Every
// cell goes through safeCell, so that a city name or a comment cannot
// become a spreadsheet formula.
func writeCSV(w http.ResponseWriter, name string, header []string, rows [][]string) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, name))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	_ = cw.Write(header)
	for _, row := range rows {
		safe := make([]string, len(row))
		for i, c := range row {
			safe[i] = safeCell(c)
		}
		_ = cw.Write(safe)
	}
	cw.Flush()
}

// safeCell defuses a cell a spreadsheet would run as a formula (OWASP's
// advice: a leading =, +, -, @, tab or carriage return gets a leading
// apostrophe, which spreadsheets show as text).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func csvFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', 2, 64)
}

// nonNil is s, or an empty slice, so JSON says [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
