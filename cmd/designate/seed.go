package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"designate/engine"
	"designate/store"
)

// seedCountries spread the synthetic dossiers over countries, as a real call
// spreads over the Member States.
var seedCountries = strings.Fields("FR PT ES IT DE GB IE NL BE CH AT PL CZ SK HU RO BG GR TR IL EG MA TN SN NG KE ZA ET " +
	"CN JP KR IN ID TH VN PH MY SG AU NZ US CA MX BR AR CL CO PE EC UY CU JM IR IQ LB JO SA AE QA KZ UZ GE AM AZ UA")

// seedChunk is the dossiers written per transaction: large enough that the
// commits do not dominate, small enough that a transaction's dirty pages
// stay a few tens of megabytes.
const seedChunk = 5000

// runSeed is `designate seed`: fill a stopped server's database with a call
// of synthetic dossiers, to measure the engine at the scale of the targets
// (a million dossiers; a hundred thousand drafts lapsing at a close). The
// dossiers go through the store's PutApplication and AppendHistory, so
// their indexes, counts and history are those the engine keeps.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "configuration file (its demo call is the model)")
	data := fs.String("data", "data", "data directory")
	callID := fs.String("call", "seed", "id of the call to create")
	n := fs.Int("dossiers", 100_000, "dossiers to write")
	drafts := fs.Float64("drafts", 0.1, "share of the dossiers left as drafts (0 to 1); the rest are submitted")
	closeIn := fs.Duration("close-in", 0, "close the call for submissions this long after now, with no grace (0: the demo call's deadline)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *n < 1 || *drafts < 0 || *drafts > 1 || *closeIn < 0 {
		fmt.Fprintln(stderr, "seed: --dossiers must be at least 1, --drafts from 0 to 1, --close-in not negative")
		return errUsage
	}
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	db, err := store.Open(dbFile(*data), store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("seed: %w; stop the server first", err)
	} else if err != nil {
		return err
	}
	defer db.Close()
	svc := engine.NewService(db, engine.SystemClock{})
	now := time.Now()
	call := cfg.Demo.Call.Call(now)
	call.ID, call.Title = *callID, "Synthetic call "+*callID
	if *closeIn > 0 {
		call.OpensAt = now.Add(-24 * time.Hour)
		call.SubmissionDeadline, call.Grace = now.Add(*closeIn), 0
	}
	created, err := svc.CreateCall(ctx, engine.System, call)
	if err != nil {
		return fmt.Errorf("seed: the call: %w", explain(err))
	}
	start := time.Now()
	draftEvery := int(*drafts * 100)
	for done := 0; done < *n; {
		m := min(seedChunk, *n-done)
		err := db.Update(ctx, func(tx engine.Tx) error {
			for i := done; i < done+m; i++ {
				if err := syntheticDossier(tx, created, i, i%100 < draftEvery, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed: dossier %d: %w", done, err)
		}
		done += m
		fmt.Fprintf(stderr, "\rseed: %d/%d dossiers", done, *n)
	}
	took := time.Since(start)
	fmt.Fprintf(stderr, "\n")
	fmt.Fprintf(stdout, "seeded call %q with %d dossiers (%.0f%% drafts) in %s (%.0f a second); it closes at %s\n",
		created.ID, *n, *drafts*100, took.Round(time.Millisecond), float64(*n)/took.Seconds(), created.Close().Format(time.RFC3339))
	return nil
}

// syntheticDossier writes dossier i of the call: a draft as CreateApplication
// leaves it, or a complete dossier as a submission leaves it.
func syntheticDossier(tx engine.Tx, call *engine.Call, i int, draft bool, now time.Time) error {
	country := seedCountries[i%len(seedCountries)]
	city := fmt.Sprintf("Seed %07d", i)
	at := now.Add(-time.Hour).Add(time.Duration(i) * time.Microsecond)
	app := &engine.Application{Summary: engine.Summary{
		ID: engine.NewID(at), Call: call.ID, City: city, Country: country, Field: call.Fields[(i/len(seedCountries))%len(call.Fields)],
		Language: "en", State: engine.Draft, Version: 1, CreatedAt: at, UpdatedAt: at,
		Owner: "seed",
	}, Sections: map[string]string{}}
	events := []engine.HistoryEvent{{At: at, Actor: "seed@example.org", Role: engine.RoleApplicant, Event: "create", To: engine.Draft}}
	if !draft {
		contact := engine.Contact{Name: "Contact of " + city, Email: "contact@seed.example.org", Phone: "+33 1 45 68 10 00"}
		app.Contacts = engine.Contacts{Mayor: contact, Representative: contact, Main: contact}
		for _, sec := range call.Sections {
			app.Sections[sec.ID] = strings.Repeat("The city makes creativity a driver of its development. ", 8)
		}
		submitted := at.Add(time.Second)
		app.State, app.Version, app.UpdatedAt, app.SubmittedAt = engine.Submitted, 2, submitted, &submitted
		app.SubmissionDigest = engine.SubmissionDigest(app)
		events = append(events, engine.HistoryEvent{At: submitted, Actor: "seed@example.org", Role: engine.RoleApplicant,
			Event: engine.EventSubmit, From: engine.Draft, To: engine.Submitted})
	}
	if err := tx.PutApplication(app); err != nil {
		return err
	}
	for j := range events {
		if err := tx.AppendHistory(app.ID, &events[j]); err != nil {
			return err
		}
	}
	return nil
}
