package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"designate/engine"
	"designate/store"
)

// The seeded database is one the engine could have written: the integrity
// check passes on it, and the secretariat's board and lists count what was
// asked for (drafts are the city's business, so they are not listed).
func TestSeed_WritesDossiersTheEngineReadsAndTheCheckPasses(t *testing.T) {
	data := t.TempDir()
	config := filepath.Join(repoRoot(t), "config.yaml")
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--config", config, "--data", data, "--dossiers", "1200", "--drafts", "0.25"}, &out, &errs); err != nil {
		t.Fatalf("seed: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), `seeded call "seed" with 1200 dossiers`) {
		t.Errorf("seed said %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"check", "--data", data}, &out, &errs); err != nil {
		t.Fatalf("check on a seeded database: %v\n%s", err, out.String())
	}

	db, err := store.Open(dbFile(data), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := engine.NewService(db, engine.SystemClock{})
	sec := engine.Actor{UserID: "s", Email: "secretariat@example.org", Role: engine.RoleSecretariat}
	board, err := svc.Board(context.Background(), sec, "seed")
	if err != nil {
		t.Fatal(err)
	}
	if board.Total != 900 || board.StateTotal(engine.Submitted) != 900 {
		t.Errorf("the board counts %d dossiers, %d submitted; want 900 and 900 (1200 less 25%% drafts)", board.Total, board.StateTotal(engine.Submitted))
	}
	seen, q := 0, engine.Query{Call: "seed", Country: "FR", Limit: 7}
	for {
		page, err := svc.Applications(context.Background(), sec, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Items {
			if a.Country != "FR" || a.State != engine.Submitted || a.SubmissionDigest == "" {
				t.Fatalf("listed %+v", a)
			}
		}
		seen += len(page.Items)
		if page.NextCursor == "" {
			break
		}
		q.After = page.NextCursor
	}
	// FR is every 62nd dossier (i%62 == 0): 20 of 1200, of which i%100 < 25
	// are drafts.
	want := 0
	for i := 0; i < 1200; i += len(seedCountries) {
		if i%100 >= 25 {
			want++
		}
	}
	if seen != want {
		t.Errorf("listed %d French dossiers, want %d", seen, want)
	}
}
