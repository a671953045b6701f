package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"designate/engine"
	"designate/store"
)

// closeBenchDrafts is the figure: a call whose 100,000 drafts lapse
// at its close.
const closeBenchDrafts = 100_000

// BenchmarkCloseLapsesDrafts closes a call holding closeBenchDrafts drafts
// while other clients go on reading a dossier and saving a draft of another
// call, and reports how long the lapse took and the longest any of those
// other requests waited (the chunked sweep lets them in between chunks).
// Run it once: go test ./engine -run X -bench CloseLapses -benchtime 1x
func BenchmarkCloseLapsesDrafts(b *testing.B) {
	serverGC(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		start := time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC)
		clock := engine.NewManualClock(start)
		db, err := store.Open(filepath.Join(b.TempDir(), "close.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		svc := engine.NewService(db, clock)
		closing := benchCall(start)
		closing.ID, closing.SubmissionDeadline = "closing", start.Add(time.Hour)
		other := benchCall(start)
		other.ID = "other"
		for _, c := range []engine.Call{closing, other} {
			if _, err := svc.CreateCall(ctx, engine.System, c); err != nil {
				b.Fatal(err)
			}
		}
		closeBenchSeed(b, db, "closing", start)
		// The other call's draft, saved and read while the sweep runs.
		city := engine.Actor{UserID: "u", Email: "lyon@example.org", Role: engine.RoleApplicant, City: "Lyon", Country: "FR"}
		app, err := svc.CreateApplication(ctx, city, engine.NewApplication{Call: "other", City: "Lyon", Country: "FR", Field: "Film", Language: "en"})
		if err != nil {
			b.Fatal(err)
		}
		clock.Set(start.Add(time.Hour + time.Second))

		var (
			stop                  atomic.Bool
			wg                    sync.WaitGroup
			mu                    sync.Mutex
			maxRead, maxWrite     time.Duration
			reads, writes, faults int
		)
		wg.Add(3)
		for r := 0; r < 2; r++ {
			go func() {
				defer wg.Done()
				for !stop.Load() {
					t0 := time.Now()
					_, err := svc.Application(ctx, city, app.ID)
					d := time.Since(t0)
					mu.Lock()
					reads++
					maxRead = max(maxRead, d)
					if err != nil {
						faults++
					}
					mu.Unlock()
				}
			}()
		}
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				cur, err := svc.Application(ctx, city, app.ID)
				if err != nil {
					faults++
					return
				}
				t0 := time.Now()
				_, err = svc.SaveApplication(ctx, city, app.ID, engine.DraftEdit{Version: cur.Version,
					Sections: map[string]string{"plan": fmt.Sprintf("Plan, revision %d.", n)}})
				d := time.Since(t0)
				mu.Lock()
				writes++
				maxWrite = max(maxWrite, d)
				if err != nil {
					faults++
				}
				mu.Unlock()
			}
		}()

		b.StartTimer()
		t0 := time.Now()
		if err := svc.Advance(ctx); err != nil {
			b.Fatal(err)
		}
		lapse := time.Since(t0)
		b.StopTimer()
		stop.Store(true)
		wg.Wait()

		page, err := svc.Applications(ctx, engine.System, engine.Query{Call: "closing", State: engine.Draft, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Items) != 0 || faults != 0 {
			b.Fatalf("after the close: drafts left %v, %d failed requests", page.Items, faults)
		}
		b.ReportMetric(lapse.Seconds(), "lapse-s")
		b.ReportMetric(float64(maxRead.Microseconds())/1000, "max-read-ms")
		b.ReportMetric(float64(maxWrite.Microseconds())/1000, "max-write-ms")
		b.ReportMetric(float64(reads), "reads")
		b.ReportMetric(float64(writes), "writes")
		db.Close()
	}
}

// closeBenchSeed writes the drafts straight through the store, as
// `designate seed` does: what CreateApplication leaves, closeBenchDrafts
// times, in large transactions.
func closeBenchSeed(b *testing.B, db *store.DB, callID string, at time.Time) {
	const chunk = 5000
	for done := 0; done < closeBenchDrafts; done += chunk {
		err := db.Update(context.Background(), func(tx engine.Tx) error {
			for i := done; i < done+chunk; i++ {
				app := &engine.Application{Summary: engine.Summary{
					ID: engine.NewID(at), Call: callID, City: fmt.Sprintf("City %06d", i), Country: "FR",
					Field: "Music", Language: "en", State: engine.Draft, Version: 1, CreatedAt: at,
					UpdatedAt: at, Owner: "seed",
				}, Sections: map[string]string{}}
				if err := tx.PutApplication(app); err != nil {
					return err
				}
				if err := tx.AppendHistory(app.ID, &engine.HistoryEvent{At: at, Actor: "seed", Role: engine.RoleApplicant, Event: "create", To: engine.Draft}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
