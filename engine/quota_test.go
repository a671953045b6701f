package engine_test

import (
	"context"
	"testing"

	"designate/engine"
)

// A dossier of a city, in a field, brought to a state.
type dossier struct {
	city, country, field string
	state                engine.State
}

func TestEndorse_CountryQuota(t *testing.T) {
	for _, tc := range []struct {
		name     string
		max      int
		distinct bool
		// others are brought to their state before Cannes (FR, Film) is endorsed.
		others []dossier
		// then happens after, with the others in order.
		then func(tb testing.TB, e *Env, call *engine.Call, others []*engine.Application)
		code string // "" for allowed
	}{
		{name: "SecondInSameField_DistinctFields_IsRefused", max: 2, distinct: true,
			others: []dossier{{"Rouen", "FR", Film, engine.Endorsed}}, code: engine.EQUOTAEXCEEDED},
		{name: "SecondInSameField_FieldsMayRepeat_IsAllowed", max: 2, distinct: false,
			others: []dossier{{"Rouen", "FR", Film, engine.Endorsed}}},
		{name: "SecondInAnotherField_IsAllowed", max: 2, distinct: true,
			others: []dossier{{"Rouen", "FR", Gastronomy, engine.Endorsed}}},
		{name: "ThirdInCountry_IsRefused", max: 2, distinct: true,
			others: []dossier{{"Rouen", "FR", Gastronomy, engine.Endorsed}, {"Saint-Étienne", "FR", Music, engine.Endorsed}},
			code:   engine.EQUOTAEXCEEDED},
		{name: "ThirdInCountry_FieldsMayRepeat_IsRefused", max: 2, distinct: false,
			others: []dossier{{"Rouen", "FR", Film, engine.Endorsed}, {"Saint-Étienne", "FR", Film, engine.Endorsed}},
			code:   engine.EQUOTAEXCEEDED},
		{name: "ThirdInCountry_MaxThree_IsAllowed", max: 3, distinct: true,
			others: []dossier{{"Rouen", "FR", Gastronomy, engine.Endorsed}, {"Saint-Étienne", "FR", Music, engine.Endorsed}}},
		{name: "SecondInCountry_MaxOne_IsRefused", max: 1, distinct: false,
			others: []dossier{{"Rouen", "FR", Gastronomy, engine.Endorsed}}, code: engine.EQUOTAEXCEEDED},
		{name: "OtherCountriesDoNotCount", max: 1, distinct: true,
			others: []dossier{{"Covilhã", "PT", Film, engine.Endorsed}, {"Huai'an", "CN", Film, engine.Endorsed}}},
		{name: "SubmittedAndDeclinedHoldNoPlace", max: 1, distinct: true,
			others: []dossier{{"Rouen", "FR", Film, engine.NotEndorsed}, {"Saint-Étienne", "FR", Film, engine.Submitted}}},
		{name: "WithdrawnEndorsedDossierFreesItsPlace", max: 1, distinct: true,
			others: []dossier{{"Rouen", "FR", Film, engine.Endorsed}},
			then: func(tb testing.TB, e *Env, _ *engine.Call, others []*engine.Application) {
				e.MustMove(tb, e.City(tb, "Rouen", "FR"), others[0].ID, engine.EventWithdraw, "")
			}},
		{name: "IneligibleDossierKeepsItsPlace", max: 1, distinct: false,
			others: []dossier{{"Rouen", "FR", Gastronomy, engine.Endorsed}},
			then: func(tb testing.TB, e *Env, call *engine.Call, others []*engine.Application) {
				AfterClose(tb, e, call)
				e.MustMove(tb, e.Secretariat(tb), others[0].ID, engine.EventReject, "No support letters.")
			}, code: engine.EQUOTAEXCEEDED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := MustOpenService(t)
			c := NewCall(CallID, e.Clock.Now())
			c.MaxPerCountry, c.DistinctFields = tc.max, tc.distinct
			call := e.MustCreateCall(t, c)
			cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
			var others []*engine.Application
			for _, d := range tc.others {
				others = append(others, e.MustReach(t, call, e.City(t, d.city, d.country), d.field, d.state))
			}
			if tc.then != nil {
				tc.then(t, e, call, others)
			}

			got, err := e.Service.Transition(context.Background(), e.Commission(t, "FR"), cannes.ID, engine.Move{Event: engine.EventEndorse})

			if tc.code != "" {
				AssertCode(t, err, tc.code)
				e.AssertUnchanged(t, cannes)
				return
			}
			if err != nil {
				t.Fatalf("endorsement refused: %v", err)
			}
			if got.State != engine.Endorsed {
				t.Fatalf("Cannes's dossier is %s, want endorsed", got.State)
			}
		})
	}
}

// TestEndorse_AfterAWithdrawal_TheFreedPlaceIsUsed follows one country's
// commission through a refusal, a withdrawal and a second try.
func TestEndorse_AfterAWithdrawal_TheFreedPlaceIsUsed(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	fr := e.Commission(t, "FR")
	rouen := e.MustReach(t, call, e.City(t, "Rouen", "FR"), Gastronomy, engine.Endorsed)
	e.MustReach(t, call, e.City(t, "Saint-Étienne", "FR"), Music, engine.Endorsed)
	cannes := e.MustReach(t, call, e.City(t, "Cannes", "FR"), Gastronomy, engine.Submitted)
	ctx := context.Background()

	_, err := e.Service.Transition(ctx, fr, cannes.ID, engine.Move{Event: engine.EventEndorse})
	AssertCode(t, err, engine.EQUOTAEXCEEDED)

	e.MustMove(t, e.City(t, "Rouen", "FR"), rouen.ID, engine.EventWithdraw, "")
	got, err := e.Service.Transition(ctx, fr, cannes.ID, engine.Move{Event: engine.EventEndorse})
	if err != nil {
		t.Fatalf("endorsement after Rouen withdrew: %v", err)
	}
	if got.State != engine.Endorsed {
		t.Fatalf("Cannes's dossier is %s, want endorsed", got.State)
	}
	endorsed := e.MustList(t, fr, engine.Query{Call: call.ID, State: engine.Endorsed})
	if len(endorsed) != 2 {
		t.Fatalf("France has %d endorsed dossiers, want 2", len(endorsed))
	}
}

// TestEndorse_QuotaIsPerCall checks that a country's endorsements in one call
// take no place in another.
func TestEndorse_QuotaIsPerCall(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	other := NewCall("creative-cities-2027-bis", e.Clock.Now())
	other.MaxPerCountry = 1
	bis := e.MustCreateCall(t, other)
	e.MustReach(t, call, e.City(t, "Rouen", "FR"), Film, engine.Endorsed)
	e.MustReach(t, call, e.City(t, "Saint-Étienne", "FR"), Music, engine.Endorsed)

	cannes := e.MustReach(t, bis, e.City(t, "Cannes", "FR"), Film, engine.Endorsed)

	e.AssertStates(t, map[*engine.Application]engine.State{cannes: engine.Endorsed})
}

// A stricter quota cannot be set once endorsements break it: the
// commission's decisions stand, and the data would break the rule the call
// states. A stricter quota they respect, or a looser one, is accepted.
func TestUpdateCall_StricterQuotaThanEndorsementsGiven_IsRefused(t *testing.T) {
	e := MustOpenService(t)
	c := NewCall(CallID, e.Clock.Now())
	c.MaxPerCountry, c.DistinctFields = 2, false
	call := e.MustCreateCall(t, c)
	e.MustReach(t, call, e.City(t, "Rouen", "FR"), Film, engine.Endorsed)
	e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Endorsed)
	e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Film, engine.Endorsed)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		max      int
		distinct bool
		code     string
	}{
		{"DownToOne", 1, false, engine.ECONFLICT},
		{"DistinctFieldsTurnedOn", 2, true, engine.ECONFLICT},
		{"UpToThree", 3, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := e.Service.Call(ctx, CallID)
			if err != nil {
				t.Fatal(err)
			}
			next := *cur
			next.MaxPerCountry, next.DistinctFields = tc.max, tc.distinct
			got, err := e.Service.UpdateCall(ctx, e.Secretariat(t), next)
			if tc.code != "" {
				AssertCode(t, err, tc.code)
				if after, _ := e.Service.Call(ctx, CallID); after.MaxPerCountry != cur.MaxPerCountry || after.DistinctFields != cur.DistinctFields {
					t.Errorf("refused, but the call now allows %d (distinct %v)", after.MaxPerCountry, after.DistinctFields)
				}
				return
			}
			if err != nil || got.MaxPerCountry != tc.max {
				t.Fatalf("update: %+v, %v", got, err)
			}
		})
	}
}
