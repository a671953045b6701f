package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"designate/engine"
)

// cityNames lists the dossiers' cities (city and country), for messages.
func cityNames(apps []*engine.Summary) []string {
	out := make([]string, len(apps))
	for i, a := range apps {
		out[i] = a.City + " " + a.Country
	}
	sort.Strings(out)
	return out
}

// TestApplications_EachRoleSeesItsOwn checks who sees which dossier, in the
// list and one by one: a city its own, drafts included; a commission its
// country's dossiers once submitted; the secretariat every dossier once
// submitted, never a draft that was never submitted.
func TestApplications_EachRoleSeesItsOwn(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	all := []*engine.Application{
		e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Draft),
		e.MustReach(t, call, e.City(t, "Rouen", "FR"), Gastronomy, engine.Submitted),
		e.MustReach(t, call, e.City(t, "Limoges", "FR"), Music, engine.Withdrawn),
		e.MustReach(t, call, e.City(t, "Covilhã", "PT"), Music, engine.Endorsed),
		e.MustReach(t, call, e.City(t, "Perth", "GB"), Film, engine.Submitted),
		e.MustReach(t, call, e.City(t, "Perth", "AU"), Film, engine.Draft),
	}
	// Saint-Étienne submitted, then took its dossier back to edit it.
	etienne := e.MustReach(t, call, e.City(t, "Saint-Étienne", "FR"), Music, engine.Submitted)
	all = append(all, e.MustMove(t, e.City(t, "Saint-Étienne", "FR"), etienne.ID, engine.EventRetract, ""))

	cases := []struct {
		name  string
		actor engine.Actor
		want  []string
	}{
		{"Applicant_SeesItsOwnDraft", e.City(t, "Cannes", "FR"), []string{"Cannes FR"}},
		{"Applicant_SeesItsOwnSubmitted", e.City(t, "Rouen", "FR"), []string{"Rouen FR"}},
		{"Applicant_SeesItsOwnWithdrawn", e.City(t, "Limoges", "FR"), []string{"Limoges FR"}},
		{"Applicant_NotTheNamesakeInAnotherCountry", e.City(t, "Perth", "AU"), []string{"Perth AU"}},
		{"Applicant_WithoutDossier_SeesNothing", e.City(t, "Angoulême", "FR"), nil},
		{"Commission_SeesItsCountrysSubmittedOnly", e.Commission(t, "FR"), []string{"Rouen FR", "Saint-Étienne FR"}},
		{"Commission_OfAnotherCountry", e.Commission(t, "PT"), []string{"Covilhã PT"}},
		{"Commission_NotTheNamesakeInAnotherCountry", e.Commission(t, "AU"), nil},
		{"Secretariat_NeverSeesANeverSubmittedDraft", e.Secretariat(t), []string{"Covilhã PT", "Perth GB", "Rouen FR", "Saint-Étienne FR"}},
		{"Admin_SeesWhatTheSecretariatSees", e.Admin(t), []string{"Covilhã PT", "Perth GB", "Rouen FR", "Saint-Étienne FR"}},
	}
	check := func(t *testing.T, actor engine.Actor, want []string) {
		t.Helper()
		got := cityNames(e.MustList(t, actor, engine.Query{Limit: 2}))
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("list = %v, want %v", got, want)
		}
		for _, app := range all {
			_, err := e.Service.Application(ctx, actor, app.ID)
			seen := slices.Contains(want, app.City+" "+app.Country)
			if seen && err != nil {
				t.Errorf("reading %s's dossier: %v, want it shown", app.City, err)
			} else if !seen && engine.ErrorCode(err) != engine.ENOTFOUND {
				t.Errorf("reading %s's dossier: %v, want %s", app.City, err, engine.ENOTFOUND)
			}
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.actor, tc.want) })
	}
	t.Run("Public_IsUnauthorized", func(t *testing.T) {
		_, err := e.Service.Applications(ctx, engine.Actor{}, engine.Query{})
		AssertCode(t, err, engine.EUNAUTHORIZED)
		_, err = e.Service.Application(ctx, engine.Actor{}, all[1].ID)
		AssertCode(t, err, engine.EUNAUTHORIZED)
	})
	t.Run("AfterClose_LapsedDraftsStayPrivate", func(t *testing.T) {
		AfterClose(t, e, call)
		e.AssertStates(t, map[*engine.Application]engine.State{all[0]: engine.Lapsed, all[len(all)-1]: engine.Lapsed})
		check(t, e.Secretariat(t), []string{"Covilhã PT", "Perth GB", "Rouen FR", "Saint-Étienne FR"})
		check(t, e.City(t, "Cannes", "FR"), []string{"Cannes FR"})
	})
}

func TestApplications_BadCursorOrLimit_IsInvalid(t *testing.T) {
	e := MustOpenService(t)
	staff := e.Secretariat(t)
	for _, tc := range []struct {
		name  string
		q     engine.Query
		field string
	}{
		{"CursorNotAnID", engine.Query{After: "../../etc/passwd"}, "cursor"},
		{"NegativeLimit", engine.Query{Limit: -1}, "limit"},
		{"LimitOverMax", engine.Query{Limit: engine.MaxPageSize + 1}, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Service.Applications(context.Background(), staff, tc.q)
			AssertCode(t, err, engine.EINVALID)
			AssertFields(t, err, tc.field)
		})
	}
}

// TestApplications_CallWithoutDossiers_ListsNothing asks for the dossiers of
// calls that have none, with ids short and long, next to a call that has.
func TestApplications_CallWithoutDossiers_ListsNothing(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
	for _, id := range []string{"a", "creative-cities-2027-bis", strings.Repeat("x", 63)} {
		t.Run(fmt.Sprintf("IDOf%dCharacters", len(id)), func(t *testing.T) {
			e.MustCreateCall(t, NewCall(id, e.Clock.Now()))
			if got := e.MustList(t, e.Secretariat(t), engine.Query{Call: id, Country: "FR"}); len(got) != 0 {
				t.Fatalf("call %s lists %v, want nothing", id, cityNames(got))
			}
			// Its first dossier is started, and listed.
			first := e.MustReach(t, e.MustCall(t, id), e.City(t, "Cannes", "FR"), Film, engine.Submitted)
			if got := e.MustList(t, e.Secretariat(t), engine.Query{Call: id}); len(got) != 1 || got[0].ID != first.ID {
				t.Fatalf("call %s lists %v, want Cannes's dossier only", id, cityNames(got))
			}
		})
	}
}

// model is what the test knows of a dossier, kept apart from the engine.
type model struct {
	id, call, city, country, field string
	state                          engine.State
	leftDraft                      bool
}

// sees is the visibility rule as the issue states it.
func sees(a engine.Actor, d *model) bool {
	switch a.Role {
	case engine.RoleSystem:
		return true
	case engine.RoleApplicant:
		return a.City == d.city && a.Country == d.country
	case engine.RoleCommission:
		return a.Country == d.country && d.leftDraft
	case engine.RoleSecretariat, engine.RoleAdmin:
		return d.leftDraft
	}
	return false
}

func matches(q engine.Query, d *model) bool {
	return (q.Call == "" || q.Call == d.call) && (q.State == "" || q.State == d.state) &&
		(q.Country == "" || q.Country == d.country) && (q.Field == "" || q.Field == d.field) &&
		(q.City == "" || q.City == d.city) && (!q.LeftDraft || d.leftDraft)
}

// plans are the ways a dossier goes before the close, as moves from a draft.
var plans = [][]string{
	{},
	{engine.EventSubmit},
	{engine.EventSubmit, engine.EventRetract},
	{engine.EventSubmit, engine.EventEndorse},
	{engine.EventSubmit, engine.EventDecline},
	{engine.EventWithdraw},
	{engine.EventSubmit, engine.EventWithdraw},
	{engine.EventSubmit, engine.EventEndorse, engine.EventWithdraw},
}

// TestApplications_Filters_MatchABruteForceFilter builds about 200 dossiers
// in random states across three calls, then checks that random combinations
// of filters, as each role, page through exactly what filtering all dossiers
// by hand gives, in id order.
func TestApplications_Filters_MatchABruteForceFilter(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("TEST_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (TEST_SEED=%[1]d replays the same choices)", seed)
	rng := rand.New(rand.NewPCG(seed, 2027))
	began := time.Now()
	ctx := context.Background()
	e := MustOpenService(t)

	// Three calls without quota so any dossier may be endorsed; the second
	// closes after two days, so that its drafts lapse while the others are open.
	calls := []engine.Call{NewCall(CallID, Start), NewCall("creative-cities-2027-short-window", Start), NewCall("media-arts-2027", Start)}
	calls[1].SubmissionDeadline = Start.Add(48 * time.Hour)
	for i := range calls {
		calls[i].MaxPerCountry, calls[i].DistinctFields = 1000, false
		e.MustCreateCall(t, calls[i])
	}
	e.MustCreateCall(t, NewCall("creative-cities-2029-no-dossier-yet", Start))
	fields := []string{Music, Film, Gastronomy}

	// 67 cities: members of the network, two of them namesakes, and towns
	// to make up the number; and their countries' commissions.
	var accounts []engine.NewUser
	for _, c := range strings.Split("Belfast GB,Cannes FR,Cluj-Napoca RO,Como IT,Covilhã PT,Gdynia PL,Gimhae KR,"+
		"Gothenburg SE,Hamar NO,Huai'an CN,Jakarta ID,Kuching MY,Launceston AU,Manises ES,Modena IT,Namur BE,"+
		"Perth GB,Perth AU,Phetchaburi TH,Rouen FR,Santa Maria da Feira PT,Srinagar IN,Tallinn EE,Thessaloniki GR,"+
		"Usuki JP,Vilnius LT,Weifang CN,Whanganui NZ,Shenzhen CN,Chengdu CN,Macau CN,Adelaide AU,Sydney AU,Hobart AU", ",") {
		i := strings.LastIndex(c, " ")
		accounts = append(accounts, engine.NewUser{Role: engine.RoleApplicant, City: c[:i], Country: c[i+1:]})
	}
	for i := 0; len(accounts) < 67; i++ {
		accounts = append(accounts, engine.NewUser{Role: engine.RoleApplicant, City: fmt.Sprintf("Town %d", i+1), Country: []string{"FR", "PT", "CN", "AU"}[i%4]})
	}
	countries := map[string]bool{}
	for _, a := range accounts[:67] {
		if !countries[a.Country] {
			countries[a.Country] = true
			accounts = append(accounts, engine.NewUser{Role: engine.RoleCommission, Country: a.Country})
		}
	}
	made := e.MustAccounts(t, accounts)
	cities := made[:67]
	commissions := map[string]engine.Actor{}
	for _, c := range made[67:] {
		commissions[c.Country] = c
	}
	staff := e.Secretariat(t)

	// Every city starts a dossier in each call and follows a random plan;
	// sixteen dossiers at a time.
	type job struct {
		city engine.Actor
		plan []string
		d    *model
	}
	var jobs []*job
	for _, city := range cities {
		for _, call := range calls {
			d := &model{call: call.ID, city: city.City, country: city.Country, field: fields[rng.IntN(len(fields))]}
			jobs = append(jobs, &job{city: city, plan: plans[rng.IntN(len(plans))], d: d})
		}
	}
	queue := make(chan *job)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				errs <- playPlan(ctx, e, j.city, commissions[j.city.Country], j.d, j.plan)
			}
		}()
	}
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// The second call closes: its drafts lapse. Then the secretariat decides
	// on some of its endorsed dossiers.
	AfterClose(t, e, &calls[1])
	for _, j := range jobs {
		d := j.d
		if d.call != calls[1].ID {
			continue
		}
		if d.state == engine.Draft {
			d.state = engine.Lapsed
		}
		if d.state == engine.Endorsed {
			switch rng.IntN(4) {
			case 0:
				d.state = e.MustMove(t, staff, d.id, engine.EventAccept, "").State
			case 1:
				e.MustMove(t, staff, d.id, engine.EventAccept, "")
				d.state = e.MustMove(t, staff, d.id, engine.EventStartEval, "").State
			case 2:
				d.state = e.MustMove(t, staff, d.id, engine.EventReject, "Incomplete support letters.").State
			}
		}
	}
	var dossiers []*model
	for _, j := range jobs {
		dossiers = append(dossiers, j.d)
		if got := e.MustGet(t, j.d.id); got.State != j.d.state {
			t.Fatalf("%s's dossier in %s is %s, want %s", j.d.city, j.d.call, got.State, j.d.state)
		}
	}
	sort.Slice(dossiers, func(i, k int) bool { return dossiers[i].id < dossiers[k].id })
	t.Logf("%d dossiers made in %s", len(dossiers), time.Since(began))

	actors := []engine.Actor{engine.System, staff, e.Admin(t), commissions["FR"], commissions["CN"], commissions["AU"],
		e.Commission(t, "DE"), e.City(t, "Cannes", "FR"), e.City(t, "Perth", "AU"), e.City(t, "Perth", "GB"), cities[len(cities)-1]}
	states := []engine.State{engine.Draft, engine.Submitted, engine.Endorsed, engine.NotEndorsed, engine.Eligible, engine.Ineligible,
		engine.UnderEvaluation, engine.Recommended, engine.Withdrawn, engine.Lapsed}
	countryFilters := []string{"FR", "PT", "CN", "AU", "GB", "DE"}
	callIDs := []string{calls[0].ID, calls[1].ID, calls[2].ID, "creative-cities-2029-no-dossier-yet", "no-such-call"}
	queries := 0
	for _, actor := range actors {
		for range 100 {
			q := engine.Query{Limit: 1 + rng.IntN(9)}
			if rng.IntN(2) == 0 {
				q.Call = callIDs[rng.IntN(len(callIDs))]
			}
			if rng.IntN(2) == 0 {
				q.State = states[rng.IntN(len(states))]
			}
			if rng.IntN(3) == 0 {
				q.Country = countryFilters[rng.IntN(len(countryFilters))]
			}
			if rng.IntN(3) == 0 {
				q.Field = fields[rng.IntN(len(fields))]
			}
			if rng.IntN(6) == 0 {
				q.City = cities[rng.IntN(len(cities))].City
			}
			if actor.Role == engine.RoleSystem && rng.IntN(4) == 0 {
				q.LeftDraft = true
			}
			var want []string
			for _, d := range dossiers {
				if sees(actor, d) && matches(q, d) {
					want = append(want, d.id)
				}
			}
			got := listPages(t, e, actor, q)
			queries++
			if !slices.Equal(got, want) {
				t.Fatalf("as %s %s %s, query %+v lists %d dossiers, want %d:\ngot  %v\nwant %v",
					actor.Role, actor.Country, actor.City, q, len(got), len(want), got, want)
			}
		}
	}
	t.Logf("%d queries in %s", queries, time.Since(began))
}

// playPlan starts the city's dossier and makes the plan's moves, recording
// in d what the engine answers. It runs outside the test's goroutine, so it
// returns its failure instead of stopping the test.
func playPlan(ctx context.Context, e *Env, city, commission engine.Actor, d *model, plan []string) error {
	app, err := e.Service.CreateApplication(ctx, city, engine.NewApplication{Call: d.call, City: city.City, Country: city.Country, Field: d.field, Language: "fr"})
	if err == nil {
		app, err = e.Service.SaveApplication(ctx, city, app.ID, CompleteDraft(app.Version))
	}
	if err != nil {
		return fmt.Errorf("%s starts its dossier in %s: %w", city.City, d.call, err)
	}
	d.id, d.state = app.ID, app.State
	for _, event := range plan {
		by, note := city, ""
		switch event {
		case engine.EventEndorse:
			by = commission
		case engine.EventDecline:
			by, note = commission, "Another city was chosen."
		}
		if app, err = e.Service.Transition(ctx, by, d.id, engine.Move{Event: event, Note: note}); err != nil {
			return fmt.Errorf("%s's dossier in %s: %s: %w", city.City, d.call, event, err)
		}
		d.state = app.State
		d.leftDraft = d.leftDraft || event == engine.EventSubmit
	}
	return nil
}

// listPages follows the cursor through every page and checks each page as a
// client would: no page longer than asked, a next cursor only after a full
// page, no empty page after the first, ids in increasing order.
func listPages(tb testing.TB, e *Env, actor engine.Actor, q engine.Query) []string {
	tb.Helper()
	var ids []string
	for page := 1; ; page++ {
		p, err := e.Service.Applications(context.Background(), actor, q)
		if err != nil {
			tb.Fatalf("query %+v: %v", q, err)
		}
		if len(p.Items) > q.Limit || (p.NextCursor != "" && len(p.Items) != q.Limit) || (page > 1 && len(p.Items) == 0) {
			tb.Fatalf("query %+v: page %d has %d items and next cursor %q", q, page, len(p.Items), p.NextCursor)
		}
		for _, a := range p.Items {
			if len(ids) > 0 && a.ID <= ids[len(ids)-1] {
				tb.Fatalf("query %+v: page %d lists %s after %s", q, page, a.ID, ids[len(ids)-1])
			}
			ids = append(ids, a.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		q.After = p.NextCursor
	}
}

func TestResults_AreHiddenUntilTheAnnouncement(t *testing.T) {
	ctx := context.Background()
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	wanted := []dossier{
		{"Cannes", "FR", Film, engine.Recommended},
		{"Covilhã", "PT", Music, engine.Recommended},
		{"Huai'an", "CN", Gastronomy, engine.Recommended},
		{"Rouen", "FR", Gastronomy, engine.NotRecommended},
		{"Perth", "GB", Music, engine.UnderEvaluation},
	}
	// All are endorsed while the call is open, then moved on after its close.
	var apps []*engine.Application
	for _, d := range wanted {
		apps = append(apps, e.MustReach(t, call, e.City(t, d.city, d.country), d.field, engine.Endorsed))
	}
	for i, d := range wanted {
		e.MustMoveOn(t, call, apps[i], d.state)
	}

	for _, at := range []struct {
		name string
		m    Moment
	}{{"WhileEvaluating", PastEndorsementUnswept}, {"AtAnnouncementBeforeTheSchedulerActs", AtAnnouncementUnswept}} {
		t.Run(at.name, func(t *testing.T) {
			at.m(t, e, call)
			_, err := e.Service.Results(ctx, call.ID)
			AssertCode(t, err, engine.ENOTFOUND)
		})
	}
	t.Run("AfterAnnouncement", func(t *testing.T) {
		e.MustAdvance(t)
		res, err := e.Service.Results(ctx, call.ID)
		if err != nil {
			t.Fatalf("results after the announcement: %v", err)
		}
		want := []engine.Result{{City: "Cannes", Country: "FR", Field: Film}, {City: "Huai'an", Country: "CN", Field: Gastronomy}, {City: "Covilhã", Country: "PT", Field: Music}}
		if res.Call != call.ID || !slices.Equal(res.Items, want) {
			t.Fatalf("results = %+v, want %+v (by field, country, city)", res.Items, want)
		}
	})
	t.Run("NoSuchCall", func(t *testing.T) {
		_, err := e.Service.Results(ctx, "creative-cities-1999")
		AssertCode(t, err, engine.ENOTFOUND)
	})
}
