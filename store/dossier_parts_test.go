package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"designate/engine"
)

// Random concurrent writes of heads, bodies and files through both
// halves; the store's own check must find nothing.
func TestDossierParts_RandomConcurrentWrites_StayInStep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "designate.db")
	db := mustOpen(t, path, Options{})
	ctx := context.Background()
	var ids []string
	for i := range 6 {
		a := dossier(i, callA, fmt.Sprintf("C%d", i), "PT", "Film", engine.Draft, false)
		if i%2 == 0 {
			a.Sections = nil
		}
		mustPut(t, db, a)
		ids = append(ids, a.ID)
	}
	digest := func(n int) string { return strings.Repeat(fmt.Sprint(n%3), 64) }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 300 {
				id := ids[r.IntN(len(ids))]
				op := r.IntN(6)
				err := db.Update(ctx, func(tx engine.Tx) error {
					switch op {
					case 0, 1: // a file added or removed
						a, err := tx.Application(id)
						if err != nil {
							return err
						}
						next := a.Clone()
						if op == 0 || len(next.Attachments) == 0 {
							next.Attachments = append(next.Attachments, engine.Attachment{Slot: "photos", N: len(next.Attachments) + 1, Name: "x", Type: "jpeg", Size: 1, SHA256: digest(r.IntN(5)), UploadedAt: time.Now().UTC()})
						} else {
							next.Attachments = next.Attachments[1:]
						}
						next.Version++
						return tx.PutApplication(next)
					case 2: // a save
						a, err := tx.Application(id)
						if err != nil {
							return err
						}
						next := a.Clone()
						if r.IntN(3) == 0 {
							next.Sections = nil
						} else {
							next.Sections = map[string]string{"vision": fmt.Sprint(r.IntN(3))}
						}
						next.Version++
						return tx.PutApplication(next)
					case 3, 4: // a move of the head (submit / retract / state)
						a, err := tx.Application(id)
						if err != nil {
							return err
						}
						next := a.Clone()
						states := []engine.State{engine.Draft, engine.Submitted, engine.Endorsed}
						next.State = states[r.IntN(len(states))]
						if next.State != engine.Draft {
							at := time.Now().UTC()
							next.SubmittedAt = &at
						}
						next.Version++
						return tx.PutSummary(&next.Summary)
					default: // a sweep-like move of heads read from a list
						heads, _, err := tx.Applications(engine.Query{Call: callA, Limit: 3})
						if err != nil {
							return err
						}
						for _, h := range heads {
							n := h.Clone()
							n.Field = []string{"Film", "Music"}[r.IntN(2)]
							n.Version++
							if err := tx.PutSummary(n); err != nil {
								return err
							}
						}
						return nil
					}
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	mustClose(t, db)
	if got := ckProblems(t, path); len(got) != 0 {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
}
