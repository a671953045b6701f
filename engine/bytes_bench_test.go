package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"designate/engine"
	"designate/store"
)

// bytesCall is benchCall with a large section and the largest quota, so
// that with the cities spread over bytesCountries a benchmark may endorse
// 20,000 dossiers.
func bytesCall(now time.Time) engine.Call {
	c := benchCall(now)
	c.Sections[0].WordLimit = 20_000
	c.MaxPerCountry, c.DistinctFields = 1000, false
	return c
}

var bytesCountries = []string{"FR", "DE", "IT", "ES", "PT", "BE", "NL", "CH", "AT", "PL",
	"SE", "NO", "DK", "FI", "IE", "GB", "CA", "BR", "MX", "JP"}

// bytesEnv is a real bbolt store with a call, a city and its commission.
type bytesEnv struct {
	db      *store.DB
	svc     *engine.Service
	text    string
	ctx     context.Context
	dossier int
}

func newBytesEnv(tb testing.TB, textBytes int) *bytesEnv {
	tb.Helper()
	clock := engine.NewManualClock(time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC))
	db, err := store.Open(filepath.Join(tb.TempDir(), "bytes.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	e := &bytesEnv{db: db, svc: engine.NewService(db, clock), ctx: context.Background(),
		text: strings.Repeat("word ", textBytes/5)}
	if _, err := e.svc.CreateCall(e.ctx, engine.System, bytesCall(clock.Now())); err != nil {
		tb.Fatal(err)
	}
	return e
}

// draft makes a complete draft of a new city, its plan textBytes long.
func (e *bytesEnv) draft(tb testing.TB) (engine.Actor, *engine.Application) {
	tb.Helper()
	e.dossier++
	country := bytesCountries[e.dossier%len(bytesCountries)]
	a := engine.Actor{UserID: "u", Email: "city@example.org", Role: engine.RoleApplicant, City: fmt.Sprintf("City %d", e.dossier), Country: country}
	app, err := e.svc.CreateApplication(e.ctx, a, engine.NewApplication{Call: "bench", City: a.City, Country: country, Field: "Music", Language: "en"})
	if err != nil {
		tb.Fatal(err)
	}
	contact := engine.Contact{Name: "Ada", Email: "ada@example.org", Phone: "+33 1 45 68 10 00"}
	app, err = e.svc.SaveApplication(e.ctx, a, app.ID, engine.DraftEdit{Version: 1,
		Contacts: engine.Contacts{Mayor: contact, Representative: contact, Main: contact},
		Sections: map[string]string{"plan": e.text}})
	if err != nil {
		tb.Fatal(err)
	}
	return a, app
}

// written runs op alone and returns what it wrote to the file.
func (e *bytesEnv) written(tb testing.TB, op func() error) store.Written {
	tb.Helper()
	before := e.db.Written()
	if err := op(); err != nil {
		tb.Fatal(err)
	}
	after := e.db.Written()
	return store.Written{PageBytes: after.PageBytes - before.PageBytes, Writes: after.Writes - before.Writes}
}

// bytesOps are the operations whose cost in the file is measured: each
// takes a fresh complete draft of its city and returns the measured
// operation (preparing what it needs first, unmeasured).
var bytesOps = []struct {
	name string
	op   func(tb testing.TB, e *bytesEnv) func() error
}{
	{"save", func(tb testing.TB, e *bytesEnv) func() error {
		a, app := e.draft(tb)
		return func() error {
			_, err := e.svc.SaveApplication(e.ctx, a, app.ID, engine.DraftEdit{Version: app.Version,
				Contacts: app.Contacts, Sections: map[string]string{"plan": e.text + " more"}})
			return err
		}
	}},
	{"submit", func(tb testing.TB, e *bytesEnv) func() error {
		a, app := e.draft(tb)
		return func() error {
			_, err := e.svc.Transition(e.ctx, a, app.ID, engine.Move{Event: engine.EventSubmit})
			return err
		}
	}},
	{"retract", func(tb testing.TB, e *bytesEnv) func() error {
		a, app := e.draft(tb)
		if _, err := e.svc.Transition(e.ctx, a, app.ID, engine.Move{Event: engine.EventSubmit}); err != nil {
			tb.Fatal(err)
		}
		return func() error {
			_, err := e.svc.Transition(e.ctx, a, app.ID, engine.Move{Event: engine.EventRetract})
			return err
		}
	}},
	{"endorse", func(tb testing.TB, e *bytesEnv) func() error {
		a, app := e.draft(tb)
		if _, err := e.svc.Transition(e.ctx, a, app.ID, engine.Move{Event: engine.EventSubmit}); err != nil {
			tb.Fatal(err)
		}
		return func() error {
			commission := engine.Actor{UserID: "c", Email: "commission@example.org", Role: engine.RoleCommission, Country: app.Country}
			_, err := e.svc.Transition(e.ctx, commission, app.ID, engine.Move{Event: engine.EventEndorse})
			return err
		}
	}},
}

// BenchmarkBytesPerOp reports what each operation writes to the file
// (bbolt's page bytes and writes of the one transaction that holds it) at
// a 2 KB and a 40 KB dossier. A move's bytes must not grow with the text.
func BenchmarkBytesPerOp(b *testing.B) {
	for _, size := range []int{2 << 10, 40 << 10} {
		for _, o := range bytesOps {
			b.Run(fmt.Sprintf("%s/%dKB", o.name, size>>10), func(b *testing.B) {
				e := newBytesEnv(b, size)
				var total store.Written
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					op := o.op(b, e)
					b.StartTimer()
					w := e.written(b, op)
					total.PageBytes += w.PageBytes
					total.Writes += w.Writes
				}
				b.ReportMetric(float64(total.PageBytes)/float64(b.N), "page-B/op")
				b.ReportMetric(float64(total.Writes)/float64(b.N), "writes/op")
			})
		}
	}
}

// TestMove_WritesTheSameBytesWhateverTheText holds the point of the
// dossier's split into head and body: a submission, a retraction or an
// endorsement of a 40 KB dossier writes no more pages than of a 2 KB one,
// while a save writes the text it changes.
func TestMove_WritesTheSameBytesWhateverTheText(t *testing.T) {
	const page = 4096
	measure := func(size int) map[string]store.Written {
		e := newBytesEnv(t, size)
		out := map[string]store.Written{}
		for _, o := range bytesOps {
			// The first of each is a warm-up: later ones find the tree's
			// pages already split as they will stay.
			e.written(t, o.op(t, e))
			out[o.name] = e.written(t, o.op(t, e))
		}
		return out
	}
	small, large := measure(2<<10), measure(40<<10)
	for _, move := range []string{"submit", "retract", "endorse"} {
		if large[move].PageBytes > small[move].PageBytes+2*page {
			t.Errorf("%s writes %d bytes of pages at 40 KB and %d at 2 KB: a move must not rewrite the text",
				move, large[move].PageBytes, small[move].PageBytes)
		}
	}
	if large["save"].PageBytes < 40<<10 {
		t.Errorf("a save of 40 KB of text writes %d bytes of pages: it cannot have written the text", large["save"].PageBytes)
	}
}
