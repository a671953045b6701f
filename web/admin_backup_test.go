package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// abStore is a store that keeps nothing: the backup handler's tests need
// the engine only for its access check and its audit record.
type abStore struct{}

func (abStore) Update(context.Context, func(engine.Tx) error) error   { return nil }
func (abStore) View(context.Context, func(engine.ReadTx) error) error { return nil }

// abBackuper writes chunks with a pause between them, then fails if told.
type abBackuper struct {
	chunks int
	pause  time.Duration
	fail   error
}

func (b abBackuper) WriteBackup(ctx context.Context, w io.Writer) error {
	for i := range b.chunks {
		if i > 0 {
			time.Sleep(b.pause)
		}
		if _, err := w.Write([]byte(strings.Repeat("x", 32<<10))); err != nil {
			return err
		}
	}
	return b.fail
}

// abServe serves adminBackup as the actor, on a server whose WriteTimeout
// is 100 ms.
func abServe(t *testing.T, b abBackuper, actor engine.Actor) *httptest.Server {
	t.Helper()
	svc := engine.NewService(abStore{}, engine.NewManualClock(time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC)))
	svc.Backups = b
	s, err := NewServer(svc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.adminBackup(w, r.WithContext(context.WithValue(r.Context(), actorKey, actor)))
	}))
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

var abAdmin = engine.Actor{UserID: "a", Email: "admin@example.org", Role: engine.RoleAdmin}

// A backup that takes longer than the server's WriteTimeout is not cut by
// it: the handler moves the write deadline while the client reads.
func TestAdminBackup_OutlastsTheWriteTimeout(t *testing.T) {
	srv := abServe(t, abBackuper{chunks: 5, pause: 60 * time.Millisecond}, abAdmin)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != 5*32<<10 {
		t.Fatalf("read %d bytes (%v) of a backup of %d taking 240 ms", n, err, 5*32<<10)
	}
}

// A failure after the first byte cannot change the status any more: the
// connection is cut, so the client reads an unexpected end, not a body
// that ends as a whole one does. A refusal before it is an ordinary
// error answer.
func TestAdminBackup_FailureMidStream_CutsTheConnection(t *testing.T) {
	srv := abServe(t, abBackuper{chunks: 3, fail: errors.New("disk on fire")}, abAdmin)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n, err := io.Copy(io.Discard, resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %d bytes, then %v; want an unexpected EOF", n, err)
	}

	refused := abServe(t, abBackuper{chunks: 1}, engine.Actor{UserID: "s", Email: "sec@example.org", Role: engine.RoleSecretariat})
	resp2, err := http.Get(refused.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	body, _ := io.ReadAll(resp2.Body)
	if resp2.StatusCode != 403 || !strings.Contains(string(body), `"forbidden"`) {
		t.Fatalf("the secretariat: %d %s, want 403 forbidden", resp2.StatusCode, body)
	}
}
