package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// TestSubmit_IncompleteDossier_IsRefusedWithAMessagePerField saves a draft
// that a city may keep but not submit, and checks that submission names
// exactly the fields at fault and leaves the draft as it was.
func TestSubmit_IncompleteDossier_IsRefusedWithAMessagePerField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(d *engine.DraftEdit)
		fields []string // none: the dossier is complete and submitted
	}{
		{name: "RequiredSectionEmpty", edit: func(d *engine.DraftEdit) { delete(d.Sections, "vision") },
			fields: []string{"sections.vision"}},
		{name: "RequiredSectionOnlySpaces", edit: func(d *engine.DraftEdit) { d.Sections["action-plan"] = " \n\t " },
			fields: []string{"sections.action-plan"}},
		{name: "RequiredSectionOverWordLimit", edit: func(d *engine.DraftEdit) { d.Sections["vision"] = "one two three four five six" },
			fields: []string{"sections.vision"}},
		{name: "RequiredSectionAtWordLimit", edit: func(d *engine.DraftEdit) { d.Sections["vision"] = "one two three four five" }},
		{name: "OptionalSectionOverWordLimit", edit: func(d *engine.DraftEdit) { d.Sections["partners"] = strings.Repeat("partner ", 21) },
			fields: []string{"sections.partners"}},
		{name: "OptionalSectionEmpty", edit: func(d *engine.DraftEdit) { delete(d.Sections, "partners") }},
		{name: "MayorEmailMissing", edit: func(d *engine.DraftEdit) { d.Contacts.Mayor.Email = "" },
			fields: []string{"contacts.mayor.email"}},
		{name: "MainContactNameMissing", edit: func(d *engine.DraftEdit) { d.Contacts.Main.Name = "" },
			fields: []string{"contacts.main.name"}},
		{name: "RepresentativePhoneMissing", edit: func(d *engine.DraftEdit) { d.Contacts.Representative.Phone = "" },
			fields: []string{"contacts.representative.phone"}},
		{name: "SeveralAtOnce", edit: func(d *engine.DraftEdit) {
			d.Sections["vision"] = "far too many words for this"
			delete(d.Sections, "action-plan")
			d.Contacts.Mayor = engine.Contact{}
		}, fields: []string{"sections.vision", "sections.action-plan", "contacts.mayor.name", "contacts.mayor.email", "contacts.mayor.phone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := MustOpenService(t)
			call := e.MustOpenCall(t)
			cannes := e.City(t, "Cannes", "FR")
			app := e.MustDraft(t, call.ID, cannes, Film)
			edit := CompleteDraft(app.Version)
			tc.edit(&edit)
			saved, err := e.Service.SaveApplication(ctx, cannes, app.ID, edit)
			if err != nil {
				t.Fatalf("the city cannot keep its draft: %v (%v)", err, engine.ErrorFields(err))
			}
			if saved.Sections["vision"] != edit.Sections["vision"] {
				t.Fatalf("saved vision = %q, want %q as typed", saved.Sections["vision"], edit.Sections["vision"])
			}

			got, err := e.Service.Transition(ctx, cannes, app.ID, engine.Move{Event: engine.EventSubmit})

			if len(tc.fields) == 0 {
				if err != nil {
					t.Fatalf("submit refused: %v (%v)", err, engine.ErrorFields(err))
				}
				if got.State != engine.Submitted {
					t.Fatalf("dossier is %s, want submitted", got.State)
				}
				return
			}
			AssertCode(t, err, engine.EINCOMPLETE)
			AssertFields(t, err, tc.fields...)
			e.AssertUnchanged(t, saved)
		})
	}
}

// TestSaveApplication_InvalidContent_IsRefusedPerField checks what a draft may
// never hold, whatever its state of completion.
func TestSaveApplication_InvalidContent_IsRefusedPerField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(d *engine.DraftEdit)
		field string
	}{
		{"MayorEmailNotAnAddress", func(d *engine.DraftEdit) { d.Contacts.Mayor.Email = "maire(at)cannes.fr" }, "contacts.mayor.email"},
		{"MainPhoneWithLetters", func(d *engine.DraftEdit) { d.Contacts.Main.Phone = "call the town hall" }, "contacts.main.phone"},
		{"SectionTheCallDoesNotHave", func(d *engine.DraftEdit) { d.Sections["budget"] = "Ten million euros" }, "sections.budget"},
		{"SectionWithControlCharacter", func(d *engine.DraftEdit) { d.Sections["vision"] = "Cinema\x00for all" }, "sections.vision"},
		{"FieldTheCallDoesNotHave", func(d *engine.DraftEdit) { d.Field = "Architecture" }, "field"},
		{"LanguageNotEnglishOrFrench", func(d *engine.DraftEdit) { d.Language = "de" }, "language"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := MustOpenService(t)
			call := e.MustOpenCall(t)
			cannes := e.City(t, "Cannes", "FR")
			app := e.MustDraft(t, call.ID, cannes, Film)
			edit := CompleteDraft(app.Version)
			tc.edit(&edit)

			_, err := e.Service.SaveApplication(context.Background(), cannes, app.ID, edit)

			AssertCode(t, err, engine.EINVALID)
			AssertFields(t, err, tc.field)
			e.AssertUnchanged(t, app)
		})
	}
}

// TestSaveApplication_ByWhoeverIsNotTheCity_IsRefused checks that only the
// city edits its dossier, and that those who may not see it learn nothing.
func TestSaveApplication_ByWhoeverIsNotTheCity_IsRefused(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.City(t, "Cannes", "FR")
	draft := e.MustDraft(t, call.ID, cannes, Film)
	submitted := e.MustReach(t, call, e.City(t, "Rouen", "FR"), Gastronomy, engine.Submitted)
	for _, tc := range []struct {
		name  string
		actor engine.Actor
		app   *engine.Application
		code  string
	}{
		{"AnotherCity_Draft", e.City(t, "Rouen", "FR"), draft, engine.ENOTFOUND},
		{"Commission_Draft", e.Commission(t, "FR"), draft, engine.ENOTFOUND},
		{"Secretariat_Draft", e.Secretariat(t), draft, engine.ENOTFOUND},
		{"Public_Draft", engine.Actor{}, draft, engine.EUNAUTHORIZED},
		{"Commission_Submitted", e.Commission(t, "FR"), submitted, engine.EFORBIDDEN},
		{"Secretariat_Submitted", e.Secretariat(t), submitted, engine.EFORBIDDEN},
		{"City_Submitted", e.City(t, "Rouen", "FR"), submitted, engine.EINVALIDTRANSITION},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Service.SaveApplication(context.Background(), tc.actor, tc.app.ID, CompleteDraft(tc.app.Version))
			AssertCode(t, err, tc.code)
			e.AssertUnchanged(t, tc.app)
		})
	}
}

// TestSaveApplication_AfterDeadlineAndGrace_IsRefused checks that a draft
// can no longer be changed once the call's enforced close has passed.
func TestSaveApplication_AfterDeadlineAndGrace_IsRefused(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.City(t, "Cannes", "FR")
	app := e.MustDraft(t, call.ID, cannes, Film)
	PastCloseUnswept(t, e, call)

	_, err := e.Service.SaveApplication(context.Background(), cannes, app.ID, CompleteDraft(app.Version))

	AssertCode(t, err, engine.EDEADLINEPASSED)
	e.AssertUnchanged(t, app)
}

// TestCreateApplication_Refusals checks who may start a dossier, and when.
func TestCreateApplication_Refusals(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	cannes := e.City(t, "Cannes", "FR")
	e.MustDraft(t, call.ID, cannes, Film)
	planned := NewCall("creative-cities-2029", e.Clock.Now())
	planned.OpensAt = e.Clock.Now().Add(time.Hour)
	e.MustCreateCall(t, planned)
	covilha := e.City(t, "Covilhã", "PT")
	newApp := func(call, city, country string) engine.NewApplication {
		return engine.NewApplication{Call: call, City: city, Country: country, Field: Music, Language: "fr"}
	}
	for _, tc := range []struct {
		name   string
		actor  engine.Actor
		in     engine.NewApplication
		code   string
		fields []string
	}{
		{"SecondDossierOfTheCity", cannes, newApp(CallID, "Cannes", "FR"), engine.ECONFLICT, nil},
		{"ForAnotherCity", covilha, newApp(CallID, "Cannes", "FR"), engine.EFORBIDDEN, nil},
		{"ByTheCommission", e.Commission(t, "PT"), newApp(CallID, "Covilhã", "PT"), engine.EFORBIDDEN, nil},
		{"ByThePublic", engine.Actor{}, newApp(CallID, "Covilhã", "PT"), engine.EUNAUTHORIZED, nil},
		{"NoSuchCall", covilha, newApp("creative-cities-1999", "Covilhã", "PT"), engine.ENOTFOUND, nil},
		{"CallNotOpenYet", covilha, newApp(planned.ID, "Covilhã", "PT"), engine.EINVALIDTRANSITION, nil},
		{"FieldNotInTheCall", covilha, engine.NewApplication{Call: CallID, City: "Covilhã", Country: "PT", Field: "Design", Language: "en"}, engine.EINVALID, []string{"field"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Service.CreateApplication(context.Background(), tc.actor, tc.in)
			AssertCode(t, err, tc.code)
			if tc.fields != nil {
				AssertFields(t, err, tc.fields...)
			}
		})
	}
	t.Run("AfterDeadlineAndGrace", func(t *testing.T) {
		PastCloseUnswept(t, e, call)
		_, err := e.Service.CreateApplication(context.Background(), covilha, newApp(CallID, "Covilhã", "PT"))
		AssertCode(t, err, engine.EDEADLINEPASSED)
	})
	t.Run("RefusalsLeftNoDossier", func(t *testing.T) {
		page, err := e.Service.Applications(context.Background(), engine.System, engine.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].City != "Cannes" {
			t.Fatalf("dossiers = %d, want only Cannes's", len(page.Items))
		}
	})
}
