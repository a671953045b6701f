package engine_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"designate/engine"
)

// rcpOracle is how recipients were found before the index: every account
// read and sorted by e-mail, then filtered. The index must give exactly
// this, in this order, so e-mails go out as they did.
func rcpOracle(tx engine.ReadTx, m *engine.Message) ([]engine.Recipient, error) {
	var out []engine.Recipient
	seen := map[string]bool{}
	add := func(email, lang string) {
		key := strings.ToLower(email)
		if email == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, engine.Recipient{Email: email, Language: lang})
	}
	users, err := tx.Users()
	if err != nil {
		return nil, err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Email < users[j].Email })
	switch m.To {
	case engine.PartyCity:
		app, err := tx.Application(m.Application)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if u.Role == engine.RoleApplicant && !u.Disabled && u.City == app.City && u.Country == app.Country {
				add(u.Email, u.Language)
			}
		}
		add(app.Contacts.Main.Email, app.Language)
	case engine.PartyCommission:
		for _, u := range users {
			if u.Role == engine.RoleCommission && !u.Disabled && u.Country == m.Country {
				add(u.Email, u.Language)
			}
		}
	}
	return out, nil
}

// TestRecipients_FromTheIndex_AreWhatReadingEveryAccountGave: accounts
// that moved city, country or role, disabled ones, a Lyon in another
// country, a member-city evaluator of the same city, a contact who is also
// an account under another case: each message of two submissions goes,
// copy by copy and in the same order, to the addresses the old scan of
// every account gave, and to those the rules name.
func TestRecipients_FromTheIndex_AreWhatReadingEveryAccountGave(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	ctx := context.Background()
	mk := func(email string, role engine.Role, country, city, lang string) *engine.User {
		t.Helper()
		u, err := e.Service.CreateUser(ctx, engine.System, engine.NewUser{Email: email, Password: Password, Role: role, Country: country, City: city, Language: lang})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	change := func(u *engine.User, ch engine.UserChange) {
		t.Helper()
		if _, err := e.Service.UpdateUser(ctx, engine.System, u.ID, ch); err != nil {
			t.Fatalf("change %s: %v (%v)", u.Email, err, engine.ErrorFields(err))
		}
	}
	ptr := func(s string) *string { return &s }
	yes := true

	lyon := mk("m-mairie@lyon.example.org", engine.RoleApplicant, "FR", "Lyon", "fr")
	mk("c-culture@lyon.example.org", engine.RoleApplicant, "FR", "Lyon", "en")
	change(mk("d-former@lyon.example.org", engine.RoleApplicant, "FR", "Lyon", "en"), engine.UserChange{Disabled: &yes})
	mk("a@lyon.example.ca", engine.RoleApplicant, "CA", "Lyon", "en")
	mk("member@lyon.example.org", engine.RoleEvaluator, "FR", "Lyon", "en")
	// Moves: into Lyon from Rouen, out of Lyon to Rouen, from Porto (PT) to
	// Lyon (FR), and from an applicant of Lyon to FR's commission.
	change(mk("b-arrived@lyon.example.org", engine.RoleApplicant, "FR", "Rouen", "fr"), engine.UserChange{City: ptr("Lyon")})
	change(mk("e-left@rouen.example.org", engine.RoleApplicant, "FR", "Lyon", "en"), engine.UserChange{City: ptr("Rouen")})
	change(mk("f-abroad@lyon.example.org", engine.RoleApplicant, "PT", "Porto", "en"), engine.UserChange{Country: ptr("FR"), City: ptr("Lyon")})
	commissionRole := engine.RoleCommission
	change(mk("g-promoted@fr.example.org", engine.RoleApplicant, "FR", "Lyon", "fr"), engine.UserChange{Role: &commissionRole, City: ptr("")})
	mk("commission-2@fr.example.org", engine.RoleCommission, "FR", "", "fr")
	mk("commission-1@fr.example.org", engine.RoleCommission, "FR", "", "en")
	change(mk("commission-0@fr.example.org", engine.RoleCommission, "FR", "", "en"), engine.UserChange{Disabled: &yes})
	mk("commission@pt.example.org", engine.RoleCommission, "PT", "", "en")
	rouen := mk("rouen@rouen.example.org", engine.RoleApplicant, "FR", "Rouen", "en")

	submit := func(city *engine.User, field, contact string) *engine.Application {
		t.Helper()
		actor := engine.ActorOf(city)
		app, err := e.Service.CreateApplication(ctx, actor, engine.NewApplication{Call: call.ID, City: city.City, Country: city.Country, Field: field, Language: "fr"})
		if err != nil {
			t.Fatal(err)
		}
		edit := CompleteDraft(app.Version)
		edit.Contacts.Main.Email = contact
		app = e.MustSaveAs(t, actor, app.ID, edit)
		return e.MustMove(t, actor, app.ID, engine.EventSubmit, "")
	}
	// Lyon's contact is one of its accounts under another case: one copy,
	// in the account's language.
	lyonApp := submit(lyon, Film, "C-Culture@Lyon.example.org")
	rouenApp := submit(rouen, Music, "office@rouen.example.org")

	mailer := &obMailer{}
	if n := obDeliver(t, e, mailer); n != 4 {
		t.Fatalf("delivered %d messages, want 4", n)
	}
	got := map[string][]engine.Recipient{}
	for _, c := range mailer.copies() {
		got[c.Message] = append(got[c.Message], engine.Recipient{Email: c.Email, Language: c.Language})
	}
	msgs := obAll(t, e)
	if len(msgs) != 4 {
		t.Fatalf("%d messages in the outbox, want 4", len(msgs))
	}
	for _, m := range msgs {
		var want []engine.Recipient
		err := e.DB.View(ctx, func(tx engine.ReadTx) (err error) {
			want, err = rcpOracle(tx, m)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[m.ID], want) {
			t.Errorf("%s to the %s of %s: copies\n  %v\nthe scan of every account gives\n  %v", m.Event, m.To, m.City, got[m.ID], want)
		}
	}

	// And what the rules name, spelled out, so the oracle is not the only
	// judge.
	r := func(email, lang string) engine.Recipient { return engine.Recipient{Email: email, Language: lang} }
	for _, tc := range []struct {
		app  *engine.Application
		to   engine.Party
		want []engine.Recipient
	}{
		{lyonApp, engine.PartyCity, []engine.Recipient{r("b-arrived@lyon.example.org", "fr"), r("c-culture@lyon.example.org", "en"),
			r("f-abroad@lyon.example.org", "en"), r("m-mairie@lyon.example.org", "fr")}},
		{lyonApp, engine.PartyCommission, []engine.Recipient{r("commission-1@fr.example.org", "en"), r("commission-2@fr.example.org", "fr"),
			r("g-promoted@fr.example.org", "fr")}},
		{rouenApp, engine.PartyCity, []engine.Recipient{r("e-left@rouen.example.org", "en"), r("rouen@rouen.example.org", "en"),
			r("office@rouen.example.org", "fr")}},
		{rouenApp, engine.PartyCommission, []engine.Recipient{r("commission-1@fr.example.org", "en"), r("commission-2@fr.example.org", "fr"),
			r("g-promoted@fr.example.org", "fr")}},
	} {
		m := obOne(t, e, tc.app.ID, engine.EventSubmit, tc.to)
		if !slices.Equal(got[m.ID], tc.want) {
			t.Errorf("submit of %s to the %s: copies\n  %v\nwant\n  %v", tc.app.City, tc.to, got[m.ID], tc.want)
		}
	}
}
