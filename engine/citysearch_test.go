package engine_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"designate/engine"
)

// searchPages follows the cursor through every page of the query as the
// actor, failing as soon as a page goes back or repeats a dossier (so a
// cursor that does not move on fails the test instead of looping).
func (e *Env) searchPages(tb testing.TB, actor engine.Actor, q engine.Query) []*engine.Summary {
	tb.Helper()
	var all []*engine.Summary
	for page := 1; ; page++ {
		p, err := e.Service.Applications(context.Background(), actor, q)
		if err != nil {
			tb.Fatalf("query %+v as %s: %v", q, actor.Role, err)
		}
		for _, a := range p.Items {
			if n := len(all); n > 0 && a.ID <= all[n-1].ID {
				tb.Fatalf("query %+v as %s: page %d lists %s (%s) after %s (%s)", q, actor.Role, page, a.ID, a.City, all[n-1].ID, all[n-1].City)
			}
			all = append(all, a)
		}
		if p.NextCursor == "" {
			return all
		}
		q.After = p.NextCursor
	}
}

// search names the dossiers of every page of the query as "City CC", sorted.
func (e *Env) search(tb testing.TB, actor engine.Actor, q engine.Query) []string {
	tb.Helper()
	return cityNames(e.searchPages(tb, actor, q))
}

func sameNames(got, want []string) bool {
	return slices.Equal(got, want) || (len(got) == 0 && len(want) == 0)
}

// searchWorld is a call with cities whose names need folding to be found,
// and a second call in which São Paulo also has a dossier.
func searchWorld(t *testing.T) *Env {
	t.Helper()
	e := MustOpenService(t)
	call := e.MustCreateCall(t, roomyCall(CallID))
	bis := e.MustCreateCall(t, roomyCall(BisCallID))
	e.MustReach(t, call, e.City(t, "São Paulo", "BR"), Music, engine.Submitted)
	e.MustReach(t, call, e.City(t, "Saint-Étienne", "FR"), Music, engine.Endorsed)
	e.MustReach(t, call, e.City(t, "Saint-Louis", "SN"), Film, engine.Submitted)
	e.MustReach(t, call, e.City(t, "Paulínia", "BR"), Film, engine.Endorsed)
	e.MustReach(t, call, e.City(t, "Santos", "BR"), Film, engine.Draft) // never submitted
	e.MustReach(t, call, e.City(t, "Cannes", "FR"), Film, engine.Submitted)
	e.MustReach(t, call, e.City(t, "Rouen", "FR"), Gastronomy, engine.Endorsed)
	e.MustReach(t, bis, e.City(t, "São Paulo", "BR"), Film, engine.Submitted)
	return e
}

// TestApplications_CityContains_IgnoresCaseAndAccents searches city names
// as the secretariat would type them: without accents, in capitals, with
// accents the name lacks, in part.
func TestApplications_CityContains_IgnoresCaseAndAccents(t *testing.T) {
	e := searchWorld(t)
	staff := e.Secretariat(t)
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"sao", []string{"São Paulo BR", "São Paulo BR"}},
		{"SÃO", []string{"São Paulo BR", "São Paulo BR"}},
		{"Sao Paulo", []string{"São Paulo BR", "São Paulo BR"}},
		{"SÃO PAULO", []string{"São Paulo BR", "São Paulo BR"}},
		{"Sa\u0303o", []string{"São Paulo BR", "São Paulo BR"}}, // the tilde as a combining mark
		{"saint", []string{"Saint-Louis SN", "Saint-Étienne FR"}},
		{"SAINT-ETIENNE", []string{"Saint-Étienne FR"}},
		{"étienne", []string{"Saint-Étienne FR"}},
		{"t-é", []string{"Saint-Étienne FR"}},
		{"paul", []string{"Paulínia BR", "São Paulo BR", "São Paulo BR"}},
		{"PAULINIA", []string{"Paulínia BR"}},
		{"Cannes", []string{"Cannes FR"}},
		// Santos never submitted its draft: the secretariat does not find it.
		{"san", nil},
		{"santos", nil},
		{"xyz", nil},
		{"são paulo!", nil},
	} {
		t.Run(tc.text, func(t *testing.T) {
			for _, limit := range []int{1, 50} {
				got := e.search(t, staff, engine.Query{CityContains: tc.text, Limit: limit})
				if !sameNames(got, tc.want) {
					t.Fatalf("searching %q (pages of %d) finds %v, want %v", tc.text, limit, got, tc.want)
				}
			}
		})
	}
}

// TestApplications_CityContains_WithOtherFilters combines the search with
// each other filter: every filter must hold.
func TestApplications_CityContains_WithOtherFilters(t *testing.T) {
	e := searchWorld(t)
	staff := e.Secretariat(t)
	for _, tc := range []struct {
		name string
		q    engine.Query
		want []string
	}{
		{"Field", engine.Query{CityContains: "saint", Field: Music}, []string{"Saint-Étienne FR"}},
		{"OtherField", engine.Query{CityContains: "saint", Field: Film}, []string{"Saint-Louis SN"}},
		{"FieldNoneHas", engine.Query{CityContains: "saint", Field: Gastronomy}, nil},
		{"State", engine.Query{CityContains: "saint", State: engine.Endorsed}, []string{"Saint-Étienne FR"}},
		{"OtherState", engine.Query{CityContains: "saint", State: engine.Submitted}, []string{"Saint-Louis SN"}},
		{"StateAndField", engine.Query{CityContains: "paul", State: engine.Endorsed, Field: Film}, []string{"Paulínia BR"}},
		{"StateAndField_NoneMatch", engine.Query{CityContains: "paul", State: engine.Submitted, Field: Gastronomy}, nil},
		{"StateSubmitted_BothCalls", engine.Query{CityContains: "paul", State: engine.Submitted}, []string{"São Paulo BR", "São Paulo BR"}},
		{"Call", engine.Query{CityContains: "sao", Call: CallID}, []string{"São Paulo BR"}},
		{"OtherCall", engine.Query{CityContains: "paul", Call: BisCallID}, []string{"São Paulo BR"}},
		{"CallAndField", engine.Query{CityContains: "sao", Call: CallID, Field: Film}, nil},
		{"Country", engine.Query{CityContains: "saint", Country: "SN"}, []string{"Saint-Louis SN"}},
		{"CountryNoneHas", engine.Query{CityContains: "paul", Country: "FR"}, nil},
		{"City", engine.Query{CityContains: "paul", City: "Paulínia"}, []string{"Paulínia BR"}},
		{"CityNotMatchingTheText", engine.Query{CityContains: "sao", City: "Paulínia"}, nil},
		{"Everything", engine.Query{CityContains: "PAUL", Call: BisCallID, State: engine.Submitted, Field: Film, Country: "BR", City: "São Paulo"}, []string{"São Paulo BR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 50} {
				q := tc.q
				q.Limit = limit
				if got := e.search(t, staff, q); !sameNames(got, tc.want) {
					t.Fatalf("query %+v finds %v, want %v", q, got, tc.want)
				}
			}
		})
	}
}

// portWorld has seven cities whose names contain "port" (two of them
// namesakes in two countries) and three that do not, with dossiers in two
// calls started in an interleaved order, so that the ids of each city are
// scattered among the others'. It returns the dossiers by city and country.
func portWorld(t *testing.T) (*Env, map[string][]*engine.Application) {
	t.Helper()
	e := MustOpenService(t)
	call := e.MustCreateCall(t, roomyCall(CallID))
	bis := e.MustCreateCall(t, roomyCall(BisCallID))
	byCity := map[string][]*engine.Application{}
	for _, d := range []struct {
		call          *engine.Call
		city, country string
		field         string
		state         engine.State
	}{
		{call, "Porto", "PT", Music, engine.Submitted},
		{call, "Cannes", "FR", Film, engine.Submitted},
		{call, "Newport", "GB", Film, engine.Submitted},
		{bis, "Porto", "PT", Film, engine.Endorsed},
		{call, "Stockport", "GB", Gastronomy, engine.Submitted},
		{bis, "Newport", "GB", Music, engine.Submitted},
		{call, "Newport", "US", Music, engine.Endorsed},
		{call, "Port Louis", "MU", Film, engine.Submitted},
		{bis, "Cannes", "FR", Film, engine.Submitted},
		{call, "Porto Alegre", "BR", Music, engine.Submitted},
		{bis, "Stockport", "GB", Film, engine.Submitted},
		{call, "Davenport", "US", Gastronomy, engine.Submitted},
		{bis, "Newport", "US", Film, engine.Submitted},
		{call, "Rouen", "FR", Gastronomy, engine.Submitted},
		{bis, "Port Louis", "MU", Music, engine.Draft}, // never submitted
		{call, "Perth", "GB", Music, engine.Submitted},
		{bis, "Porto Alegre", "BR", Gastronomy, engine.Endorsed},
	} {
		app := e.MustReach(t, d.call, e.City(t, d.city, d.country), d.field, d.state)
		byCity[d.city+" "+d.country] = append(byCity[d.city+" "+d.country], app)
	}
	return e, byCity
}

// idsOf lists the ids of the dossiers of the cities, in id order; with
// submitted, only those submitted at least once.
func idsOf(byCity map[string][]*engine.Application, submitted bool, cities ...string) []string {
	var ids []string
	for _, c := range cities {
		for _, a := range byCity[c] {
			if !submitted || a.State != engine.Draft {
				ids = append(ids, a.ID)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// TestApplications_CityContains_PagesThroughEveryMatchOnce follows the
// cursor through the matches of several cities page by page, with pages as
// small as one dossier: each match comes exactly once, in id order.
func TestApplications_CityContains_PagesThroughEveryMatchOnce(t *testing.T) {
	e, byCity := portWorld(t)
	staff := e.Secretariat(t)
	ports := []string{"Porto PT", "Newport GB", "Stockport GB", "Newport US", "Port Louis MU", "Porto Alegre BR", "Davenport US"}
	allPorts := idsOf(byCity, true, ports...)
	if len(allPorts) != 12 {
		t.Fatalf("the world has %d submitted dossiers of ports, want 12", len(allPorts))
	}
	for _, tc := range []struct {
		name string
		q    engine.Query
		want []string
	}{
		{"EveryPort", engine.Query{CityContains: "port"}, allPorts},
		{"EveryPort_InCapitals", engine.Query{CityContains: "PORT"}, allPorts},
		{"Namesakes", engine.Query{CityContains: "newport"}, idsOf(byCity, true, "Newport GB", "Newport US")},
		{"Country", engine.Query{CityContains: "port", Country: "GB"}, idsOf(byCity, true, "Newport GB", "Stockport GB")},
		{"Call", engine.Query{CityContains: "port", Call: BisCallID}, []string{
			byCity["Porto PT"][1].ID, byCity["Newport GB"][1].ID, byCity["Stockport GB"][1].ID,
			byCity["Newport US"][1].ID, byCity["Porto Alegre BR"][1].ID}},
		{"Field", engine.Query{CityContains: "port", Field: Music}, []string{
			byCity["Porto PT"][0].ID, byCity["Newport GB"][1].ID, byCity["Newport US"][0].ID, byCity["Porto Alegre BR"][0].ID}},
		{"State", engine.Query{CityContains: "porto", State: engine.Endorsed}, []string{byCity["Porto PT"][1].ID, byCity["Porto Alegre BR"][1].ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slices.Sort(tc.want)
			for _, limit := range []int{1, 2, 3, 5, 50} {
				q := tc.q
				q.Limit = limit
				got := listPages(t, e, staff, q)
				if !slices.Equal(got, tc.want) {
					t.Fatalf("query %+v in pages of %d lists %d dossiers, want %d:\ngot  %v\nwant %v",
						tc.q, limit, len(got), len(tc.want), got, tc.want)
				}
			}
		})
	}
}

// TestApplications_CityContains_StaysInTheActorsScope checks that a search
// never widens what an account may see: a city finds only its own
// dossiers, whatever it types; a commission only its country's.
func TestApplications_CityContains_StaysInTheActorsScope(t *testing.T) {
	e, byCity := portWorld(t)
	for _, tc := range []struct {
		name  string
		actor engine.Actor
		text  string
		want  []string
	}{
		{"City_FindsItsOwn", e.City(t, "Porto", "PT"), "port", idsOf(byCity, false, "Porto PT")},
		{"City_OwnNeverSubmittedDraftToo", e.City(t, "Port Louis", "MU"), "louis", idsOf(byCity, false, "Port Louis MU")},
		{"City_SearchingAnotherCity_SeesNothing", e.City(t, "Porto", "PT"), "newport", nil},
		{"City_SearchingAnotherCityByItsFullName_SeesNothing", e.City(t, "Cannes", "FR"), "Rouen", nil},
		{"City_NotItsNamesakeInAnotherCountry", e.City(t, "Newport", "GB"), "newport", idsOf(byCity, false, "Newport GB")},
		{"City_WithoutDossier_SeesNothing", e.City(t, "Portsmouth", "GB"), "port", nil},
		{"Commission_ItsCountryOnly", e.Commission(t, "GB"), "port", idsOf(byCity, true, "Newport GB", "Stockport GB")},
		{"Commission_NotTheNamesakeAbroad", e.Commission(t, "US"), "newport", idsOf(byCity, true, "Newport US")},
		{"Commission_NeverSubmittedDraftHidden", e.Commission(t, "MU"), "port", idsOf(byCity, true, "Port Louis MU")},
		{"Commission_AnotherCountrysCity_SeesNothing", e.Commission(t, "FR"), "porto", nil},
		{"Secretariat_NeverSubmittedDraftHidden", e.Secretariat(t), "louis", idsOf(byCity, true, "Port Louis MU")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 50} {
				got := listPages(t, e, tc.actor, engine.Query{CityContains: tc.text, Limit: limit})
				if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
					t.Fatalf("%s %s %s searching %q (pages of %d) lists %v, want %v",
						tc.actor.Role, tc.actor.City, tc.actor.Country, tc.text, limit, got, tc.want)
				}
			}
		})
	}
	t.Run("City_FilteringOnAnotherCountry_SeesNothing", func(t *testing.T) {
		got := listPages(t, e, e.City(t, "Newport", "GB"), engine.Query{CityContains: "newport", Country: "US", Limit: 1})
		if len(got) != 0 {
			t.Fatalf("Newport GB searching Newport in the US lists %v, want nothing", got)
		}
	})
}

// TestApplications_CityContains_UnderTheResultsEmbargo searches while the
// results are under embargo: a commission asking for dossiers under
// evaluation finds the recommended one among them, as it is shown to it,
// and never finds it by its real state.
func TestApplications_CityContains_UnderTheResultsEmbargo(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustCreateCall(t, roomyCall(CallID))
	sao := e.MustReach(t, call, e.City(t, "São Paulo", "BR"), Music, engine.Endorsed)
	paulinia := e.MustReach(t, call, e.City(t, "Paulínia", "BR"), Film, engine.Endorsed)
	santos := e.MustReach(t, call, e.City(t, "Santos", "BR"), Film, engine.Endorsed)
	e.MustMoveOn(t, call, sao, engine.Recommended)
	e.MustMoveOn(t, call, paulinia, engine.UnderEvaluation)
	e.MustMoveOn(t, call, santos, engine.UnderEvaluation)
	br := e.Commission(t, "BR")
	for _, tc := range []struct {
		name  string
		actor engine.Actor
		q     engine.Query
		want  []string
	}{
		{"Commission_UnderEvaluation", br, engine.Query{CityContains: "paul", State: engine.UnderEvaluation}, []string{"Paulínia BR", "São Paulo BR"}},
		{"Commission_Recommended_FindsNothing", br, engine.Query{CityContains: "sao", State: engine.Recommended}, nil},
		{"Commission_UnderEvaluationAndField", br, engine.Query{CityContains: "sao", State: engine.UnderEvaluation, Field: Music}, []string{"São Paulo BR"}},
		{"City_ItsOwnUnderEvaluation", e.City(t, "São Paulo", "BR"), engine.Query{CityContains: "SAO", State: engine.UnderEvaluation}, []string{"São Paulo BR"}},
		{"Secretariat_RealState", e.Secretariat(t), engine.Query{CityContains: "sao", State: engine.Recommended}, []string{"São Paulo BR"}},
		{"Secretariat_UnderEvaluation", e.Secretariat(t), engine.Query{CityContains: "paul", State: engine.UnderEvaluation}, []string{"Paulínia BR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 50} {
				q := tc.q
				q.Limit = limit
				got := e.searchPages(t, tc.actor, q)
				if names := cityNames(got); !sameNames(names, tc.want) {
					t.Fatalf("%s searching %+v lists %v, want %v", tc.actor.Role, q, names, tc.want)
				}
				for _, a := range got {
					if tc.actor.Role != engine.RoleSecretariat && a.State != engine.UnderEvaluation {
						t.Fatalf("%s is shown to the %s as %s under the embargo", a.City, tc.actor.Role, a.State)
					}
				}
			}
		})
	}
}

// TestApplications_CityContains_BadSearch_IsInvalid checks the search text
// is 1 to 100 characters (not bytes) of one line of text, for every role.
func TestApplications_CityContains_BadSearch_IsInvalid(t *testing.T) {
	e := searchWorld(t)
	ctx := context.Background()
	actors := []engine.Actor{e.Secretariat(t), e.Commission(t, "BR"), e.City(t, "São Paulo", "BR")}
	for _, tc := range []struct {
		name, text string
	}{
		{"101Letters", strings.Repeat("a", 101)},
		{"101AccentedLetters", strings.Repeat("é", 101)},
		{"NUL", "sao\x00"},
		{"Newline", "sao\npaulo"},
		{"Tab", "\tsao"},
		{"Escape", "\x1b[2Jsao"},
		{"Delete", "sao\x7f"},
		{"C1Control", "sao\u0085"},
		{"InvalidUTF8", "s\xe3o"},
		{"OnlySpaces", "   "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, actor := range actors {
				p, err := e.Service.Applications(ctx, actor, engine.Query{CityContains: tc.text})
				if p != nil {
					t.Errorf("as %s, a refused search came with a page of %d", actor.Role, len(p.Items))
				}
				AssertCode(t, err, engine.EINVALID)
				AssertFields(t, err, "q")
			}
		})
	}
	t.Run("Public_IsAskedToSignInFirst", func(t *testing.T) {
		_, err := e.Service.Applications(ctx, engine.Actor{}, engine.Query{CityContains: strings.Repeat("a", 101)})
		AssertCode(t, err, engine.EUNAUTHORIZED)
	})
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"100Letters", strings.Repeat("a", 100), nil},
		{"100AccentedLetters", strings.Repeat("é", 100), nil},
		{"OneLetter", "C", []string{"Cannes FR"}},
		{"InnerSpace", "o p", []string{"São Paulo BR", "São Paulo BR"}},
	} {
		t.Run("Valid_"+tc.name, func(t *testing.T) {
			p, err := e.Service.Applications(ctx, e.Secretariat(t), engine.Query{CityContains: tc.text})
			if err != nil {
				t.Fatalf("search of %d characters: %v, want it accepted", len([]rune(tc.text)), err)
			}
			if got := cityNames(p.Items); !sameNames(got, tc.want) {
				t.Fatalf("search %q finds %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

// TestApplications_CityContains_NoMatch_IsAnEmptyPage checks that a search
// finding nothing is an empty page, not an error, with no next cursor, and
// that the API shows it as an empty list.
func TestApplications_CityContains_NoMatch_IsAnEmptyPage(t *testing.T) {
	e := searchWorld(t)
	for _, tc := range []struct {
		name  string
		actor engine.Actor
		q     engine.Query
	}{
		{"Secretariat_NoSuchCity", e.Secretariat(t), engine.Query{CityContains: "Zaragoza"}},
		{"Secretariat_MatchOutsideTheFilters", e.Secretariat(t), engine.Query{CityContains: "sao", Field: Gastronomy}},
		{"Secretariat_UnknownCall", e.Secretariat(t), engine.Query{CityContains: "sao", Call: "creative-cities-1999"}},
		{"Secretariat_AfterTheLastMatch", e.Secretariat(t), engine.Query{CityContains: "sao", After: "ZZZZZZZZZZZZZZZZ"}},
		{"Commission_NoSuchCity", e.Commission(t, "FR"), engine.Query{CityContains: "Zaragoza"}},
		{"City_AnotherCity", e.City(t, "Cannes", "FR"), engine.Query{CityContains: "rouen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.Service.Applications(context.Background(), tc.actor, tc.q)
			if err != nil {
				t.Fatalf("query %+v: %v, want an empty page", tc.q, err)
			}
			if len(p.Items) != 0 || p.NextCursor != "" {
				t.Fatalf("query %+v = %d dossiers (%v), next cursor %q; want none and no cursor",
					tc.q, len(p.Items), cityNames(p.Items), p.NextCursor)
			}
			raw, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), `"items":[]`) {
				t.Fatalf("the empty page reads %s, want an empty list of items", raw)
			}
		})
	}
}
