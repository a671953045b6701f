package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// A full commit queue and a server that could not make a write durable are
// both 503, each with its own code: busy says when to try again (nothing
// was written), unavailable does not (the outcome is unknown and the server
// is stopping). The API and the pages answer alike.
func TestFail_BusyAndUnavailable_Are503(t *testing.T) {
	svc := engine.NewService(abStore{}, engine.NewManualClock(time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC)))
	s, err := NewServer(svc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	busy := &engine.Error{Code: engine.EBUSY, Message: "The server is busy.", RetryAfter: 1500 * time.Millisecond}
	unavailable := engine.Errorf(engine.EUNAVAILABLE, "The outcome of this write is unknown.")
	for _, c := range []struct {
		name       string
		err        error
		retryAfter string
		page       string // a part of the page's message (English)
	}{
		{"Busy", busy, "2", "The server is busy."},
		{"Unavailable", unavailable, "", "The outcome of this write is unknown."},
	} {
		t.Run(c.name+"_API", func(t *testing.T) {
			w := httptest.NewRecorder()
			s.fail(w, httptest.NewRequest("PUT", "/api/v1/applications/x", nil), c.err)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != c.retryAfter {
				t.Fatalf("status %d, Retry-After %q; want 503 and %q", w.Code, w.Header().Get("Retry-After"), c.retryAfter)
			}
			if code := engine.ErrorCode(c.err); !strings.Contains(w.Body.String(), `"code":"`+code+`"`) {
				t.Fatalf("body %s, want the code %q", w.Body, code)
			}
		})
		t.Run(c.name+"_Page", func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/dossiers/x", nil)
			r.Header.Set("Accept-Language", "en")
			s.pageFail(w, r, c.err)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != c.retryAfter {
				t.Fatalf("status %d, Retry-After %q; want 503 and %q", w.Code, w.Header().Get("Retry-After"), c.retryAfter)
			}
			if !strings.Contains(w.Body.String(), c.page) {
				t.Fatalf("the page does not say %q:\n%s", c.page, w.Body)
			}
		})
	}
}
