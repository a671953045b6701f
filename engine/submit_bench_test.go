package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"designate/engine"
	"designate/store"
)

// benchCall is open for ten days from the clock's start, with one short
// required section.
func benchCall(now time.Time) engine.Call {
	return engine.Call{
		ID: "bench", Title: "Bench call", TimeZone: "Europe/Paris",
		Fields: []string{"Music", "Film"}, Languages: []string{"en"},
		OpensAt: now.Add(-time.Hour), SubmissionDeadline: now.Add(240 * time.Hour),
		EndorsementDeadline: now.Add(480 * time.Hour), EvaluationDeadline: now.Add(960 * time.Hour),
		AnnouncementAt: now.Add(1440 * time.Hour), MaxPerCountry: 2, DistinctFields: true,
		Sections: []engine.Section{{ID: "plan", Title: engine.Localized{EN: "Plan", FR: "Plan"}, WordLimit: 500, Required: true}},
	}
}

// BenchmarkSubmit measures the whole submission path below HTTP (access
// check, state machine, completeness, version, history, indexes, one durable
// commit per submission) at 64 concurrent submitters. Compare it with
// BenchmarkBaselineBatchWrite in the same run.
func BenchmarkSubmit(b *testing.B) {
	serverGC(b)
	ctx := context.Background()
	clock := engine.NewManualClock(time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC))
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := engine.NewService(db, clock)
	if _, err := svc.CreateCall(ctx, engine.System, benchCall(clock.Now())); err != nil {
		b.Fatal(err)
	}
	// Complete drafts, one per synthetic city, ready to submit.
	type draft struct {
		actor engine.Actor
		id    string
	}
	drafts := make([]draft, b.N)
	contact := engine.Contact{Name: "Ada", Email: "ada@example.org", Phone: "+33 1 45 68 10 00"}
	prep := make(chan int)
	done := make(chan error)
	for w := 0; w < 64; w++ {
		go func() {
			var werr error
			for i := range prep {
				if werr != nil {
					continue
				}
				a := engine.Actor{UserID: "u", Email: "city@example.org", Role: engine.RoleApplicant, City: fmt.Sprintf("City %d", i), Country: "FR"}
				app, err := svc.CreateApplication(ctx, a, engine.NewApplication{Call: "bench", City: a.City, Country: "FR", Field: "Music", Language: "en"})
				if err == nil {
					_, err = svc.SaveApplication(ctx, a, app.ID, engine.DraftEdit{Version: 1,
						Contacts: engine.Contacts{Mayor: contact, Representative: contact, Main: contact},
						Sections: map[string]string{"plan": "A plan of forty words or so for the city, to make the record realistic in size."}})
				}
				if err != nil {
					werr = err
					continue
				}
				drafts[i] = draft{a, app.ID}
			}
			done <- werr
		}()
	}
	for i := 0; i < b.N; i++ {
		prep <- i
	}
	close(prep)
	for w := 0; w < 64; w++ {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism(32) // 32 x GOMAXPROCS(2) = 64 submitters
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := drafts[next.Add(1)-1]
			if _, err := svc.Transition(ctx, d.actor, d.id, engine.Move{Event: engine.EventSubmit}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBaselineBatchWrite is the floor BenchmarkSubmit is measured
// against: one write per operation of a record the size of a dossier,
// through the store's group commit with the same durability (a synced
// commit before returning), at the same concurrency.
func BenchmarkBaselineBatchWrite(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "baseline.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	record, _ := json.Marshal(map[string]string{"pad": string(make([]byte, 900))})
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := []byte(fmt.Sprintf("%016d", next.Add(1)))
			if err := db.BenchWrite(context.Background(), key, record); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
