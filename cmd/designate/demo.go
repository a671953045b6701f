package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"

	"designate/engine"
)

// demoCities are real member cities of the network (../shared/data), used
// for demo dossiers.
//
//go:embed demo/uccn-cities.csv
var demoCities string

// demoAccountsFile keeps the first start's demo passwords, readable only by
// the owner, for whoever missed them on the terminal.
const demoAccountsFile = "demo-accounts.txt"

// seedDemo creates, on the first start (no call and no account yet), the
// demo call, the demo accounts with random passwords, and demo dossiers; it
// prints the accounts.
func (m *Main) seedDemo(ctx context.Context) error {
	demo := m.Config.Demo
	if !demo.Enabled {
		return nil
	}
	svc := m.Service
	calls, err := svc.Calls(ctx)
	if err != nil {
		return err
	}
	users, err := svc.Users(ctx, engine.System)
	if err != nil {
		return err
	}
	saved := filepath.Join(m.Config.Data, demoAccountsFile)
	if len(calls) > 0 || len(users) > 0 {
		if _, err := os.Stat(saved); err == nil {
			fmt.Fprintf(m.Out, "Demo accounts and their passwords are in %s.\n", saved)
		}
		return nil
	}

	call, err := svc.CreateCall(ctx, engine.System, demo.Call.Call(svc.Now()))
	if err != nil {
		return fmt.Errorf("demo call: %w", explain(err))
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tE-MAIL\tPASSWORD\tCITY / COUNTRY")
	applicants := map[string]bool{}
	for _, a := range demo.Accounts {
		password := randomPassword()
		u, err := svc.CreateUser(ctx, engine.System, engine.NewUser{Email: a.Email, Password: password, Role: a.Role, Country: a.Country, City: a.City, Field: a.Field})
		if err != nil {
			return fmt.Errorf("demo account %s: %w", a.Email, explain(err))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Role, u.Email, password, strings.Trim(u.City+" / "+u.Country, " /"))
		if u.Role == engine.RoleApplicant {
			applicants[u.City] = true
		}
	}
	tw.Flush()
	if err := os.WriteFile(saved, []byte(b.String()), 0o600); err != nil {
		return err
	}
	n, err := seedDossiers(ctx, svc, call, applicants)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Out, "First start: created the call %q (open until %s, enforced close %s),\n%d demo dossiers of real member cities, and these accounts (saved in %s):\n\n%s\n",
		call.ID, call.SubmissionDeadline.In(call.Location()).Format("2 Jan 2006 15:04 MST"),
		call.Close().In(call.Location()).Format("2 Jan 2006 15:04 MST"), n, saved, b.String())
	return nil
}

// seedDossiers gives the demo call a realistic spread: every city of the
// list with a field of the call gets a dossier; most are submitted and their
// commissions endorse what the quota allows; the demo applicants' own cities
// keep a draft (Covilhã), a submitted dossier (Rouen) or nothing (Cannes), so
// each of those accounts shows a different starting point.
func seedDossiers(ctx context.Context, svc *engine.Service, call *engine.Call, applicants map[string]bool) (int, error) {
	rows, err := csv.NewReader(strings.NewReader(demoCities)).ReadAll()
	if err != nil {
		return 0, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		count int
		errs  []error
	)
	for i, row := range rows[1:] {
		city, country, field := row[0], row[2], row[3]
		if city == "Cannes" || !call.HasField(field) {
			continue
		}
		wg.Add(1)
		// In parallel: the writes share commits, so the first start stays quick.
		go func() {
			defer wg.Done()
			endorse := !applicants[city] && i%3 != 2
			submit := city != "Covilhã" && (applicants[city] || i%5 != 4)
			err := seedDossier(ctx, svc, call, city, country, field, submit, endorse)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("demo dossier of %s: %w", city, explain(err)))
			}
			count++
		}()
	}
	wg.Wait()
	return count, errors.Join(errs...)
}

func seedDossier(ctx context.Context, svc *engine.Service, call *engine.Call, city, country, field string, submit, endorse bool) error {
	slug := strings.ToLower(strings.NewReplacer(" ", "-", "'", "", "ã", "a").Replace(city))
	cityActor := engine.Actor{UserID: "demo", Email: "demo@" + slug + ".example.org", Role: engine.RoleApplicant, City: city, Country: country}
	app, err := svc.CreateApplication(ctx, cityActor, engine.NewApplication{Call: call.ID, City: city, Country: country, Field: field, Language: "en"})
	if err != nil {
		return err
	}
	contact := func(role string) engine.Contact {
		return engine.Contact{Name: role + " of " + city, Email: role + "@" + slug + ".example.org", Phone: "+33 1 45 68 10 00"}
	}
	sections := map[string]string{}
	for _, s := range call.Sections {
		sections[s.ID] = fmt.Sprintf("%s: how %s, a city of %s, addresses %q. (Demo text.)", city, city, field, s.Title.EN)
	}
	app, err = svc.SaveApplication(ctx, cityActor, app.ID, engine.DraftEdit{
		Version:  app.Version,
		Contacts: engine.Contacts{Mayor: contact("mayor"), Representative: contact("deputy"), Main: contact("culture")},
		Sections: sections,
	})
	if err != nil {
		return err
	}
	for _, slot := range call.Attachments {
		for n := 1; n <= slot.Files; n++ {
			name, content := demoAttachment(slot, n, city)
			app, err = svc.Attach(ctx, cityActor, app.ID, slot.ID, engine.Upload{Name: name, Body: bytes.NewReader(content)})
			if err != nil {
				return fmt.Errorf("%s: %w", slot.ID, err)
			}
		}
	}
	if !submit {
		return nil
	}
	if _, err = svc.Transition(ctx, cityActor, app.ID, engine.Move{Event: engine.EventSubmit}); err != nil || !endorse {
		return err
	}
	commission := engine.Actor{UserID: "demo", Email: "demo-commission@" + strings.ToLower(country) + ".example.org", Role: engine.RoleCommission, Country: country}
	_, err = svc.Transition(ctx, commission, app.ID, engine.Move{Event: engine.EventEndorse})
	if engine.ErrorCode(err) == engine.EQUOTAEXCEEDED {
		// The country's places are taken: the dossier stays submitted, as it
		// would in a real call.
		return nil
	}
	return err
}

// demoAttachment is file n of a slot for a demo dossier: a PDF letter, or a
// photo.
func demoAttachment(slot engine.AttachmentSlot, n int, city string) (string, []byte) {
	if slot.Accepts(engine.FilePDF) {
		return fmt.Sprintf("%s-%d.pdf", slot.ID, n), demoPDF(city, slot.Title.EN, fmt.Sprintf("Document %d (demo).", n))
	}
	return fmt.Sprintf("photo-%d.jpg", n), demoPhotos[(n-1)%len(demoPhotos)]
}

// demoPhotos are shared by every demo dossier: the store keeps one copy of
// each, since it keeps files by their content.
var demoPhotos = [][]byte{demoJPEG(320, 240, 1), demoJPEG(320, 240, 2), demoJPEG(320, 240, 3)}

// randomPassword returns 16 characters (80 bits) from an alphabet without
// look-alike characters, easy to copy from a terminal.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
