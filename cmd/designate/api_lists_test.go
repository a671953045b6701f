package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"designate/engine"
)

// Pages follow one another without gaps or repeats, in the order the
// dossiers were created; each filter returns exactly its set; each account
// sees exactly what it may.
func TestAPI_Applications_PaginationFiltersAndScope(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	commissionFR := tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody("pages"), nil)
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody("other"), nil)

	countries := []string{"FR", "PT", "IT", "DE"}
	fields := []string{"Film", "Music", "Design"}
	var cities []*city
	for i := range 25 {
		c := tm.newCity(fmt.Sprintf("Ville %02d", i), countries[i%4], fields[i%3])
		tm.submitDossier(c, "pages")
		cities = append(cities, c)
		// A minute apart, so the order of creation is the order of the list.
		tm.Advance(tm.Clock.Now().Add(time.Minute))
	}
	drafter := tm.newCity("Brouillon", "FR", "Film")
	tm.startDossier(drafter, "pages")
	// The first city applies to the other call too.
	var elsewhere Dossier
	tm.MustDo(201, "POST", "/api/v1/calls/other/applications", cities[0].Token,
		map[string]string{"city": cities[0].Name, "country": "FR", "field": "Film", "language": "fr"}, &elsewhere)
	tm.MustDo(200, "PUT", "/api/v1/applications/"+elsewhere.ID, cities[0].Token, completeDraft(1, cities[0].Name), &elsewhere)
	tm.move(cities[0].Token, &elsewhere, "submit", "", "submitted")

	// France endorses its first Film and its first Music dossier.
	var endorsed []string
	for _, field := range []string{"Film", "Music"} {
		for _, c := range cities {
			if c.Country == "FR" && c.Field == field {
				tm.move(commissionFR, &c.Dossier, "endorse", "", "endorsed")
				endorsed = append(endorsed, c.Dossier.ID)
				break
			}
		}
	}

	// The secretariat pages through the call, seven at a time.
	var created []string
	for _, c := range cities {
		created = append(created, c.Dossier.ID)
	}
	var got []string
	cursor, pages := "", 0
	for {
		path := "/api/v1/applications?call=pages&limit=7"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var p Page
		tm.MustDo(200, "GET", path, secretariat, nil, &p)
		pages++
		if len(p.Items) > 7 || (p.NextCursor != "" && len(p.Items) != 7) {
			t.Fatalf("page %d has %d items (next %q), want 7 until the last", pages, len(p.Items), p.NextCursor)
		}
		got = append(got, ids(p.Items)...)
		if p.NextCursor == "" {
			break
		}
		if pages > 10 {
			t.Fatal("no last page")
		}
		cursor = p.NextCursor
	}
	if !slices.Equal(got, created) || pages != 4 {
		t.Fatalf("pages of 7 gave %d dossiers in %d pages:\n%v\nwant the %d submitted, in the order of creation:\n%v", len(got), pages, got, len(created), created)
	}
	if all := ids(tm.listAll("limit=7", secretariat)); len(all) != 26 || !slices.Contains(all, elsewhere.ID) || slices.Contains(all, drafter.Dossier.ID) {
		t.Fatalf("secretariat, every call: %d dossiers %v, want the 26 submitted ones", len(all), all)
	}

	// Each filter returns exactly its set, across pages of three.
	expect := func(keep func(c *city) bool) []string {
		var out []string
		for _, c := range cities {
			if keep(c) {
				out = append(out, c.Dossier.ID)
			}
		}
		return out
	}
	filters := []struct {
		query string
		want  []string
	}{
		{"state=endorsed", endorsed},
		{"call=pages&state=submitted", expect(func(c *city) bool { return !slices.Contains(endorsed, c.Dossier.ID) })},
		{"call=pages&country=PT", expect(func(c *city) bool { return c.Country == "PT" })},
		{"call=pages&field=Music", expect(func(c *city) bool { return c.Field == "Music" })},
		{"call=pages&country=FR&field=Film&state=submitted", expect(func(c *city) bool {
			return c.Country == "FR" && c.Field == "Film" && !slices.Contains(endorsed, c.Dossier.ID)
		})},
		{"call=other", []string{elsewhere.ID}},
		{"call=pages&country=DE&field=Gastronomy", nil},
		{"call=pages&state=designated", nil},
	}
	for _, f := range filters {
		got := tm.listAll(f.query+"&limit=3", secretariat)
		if err := sameIDs(ids(got), f.want); err != nil {
			t.Errorf("?%s: %v", f.query, err)
		}
		if !slices.IsSorted(ids(got)) {
			t.Errorf("?%s: not in order: %v", f.query, ids(got))
		}
	}

	// A commission sees its country's submitted dossiers only.
	fr := expect(func(c *city) bool { return c.Country == "FR" })
	if err := sameIDs(ids(tm.listAll("call=pages&limit=7", commissionFR)), fr); err != nil {
		t.Errorf("French commission: %v", err)
	}
	if got := tm.listAll("country=PT", commissionFR); len(got) != 0 {
		t.Errorf("French commission asking for Portugal sees %v", ids(got))
	}
	// An applicant sees its own city only, its draft included.
	if err := sameIDs(ids(tm.listAll("", drafter.Token)), []string{drafter.Dossier.ID}); err != nil {
		t.Errorf("applicant with a draft: %v", err)
	}
	if err := sameIDs(ids(tm.listAll("limit=1", cities[0].Token)), []string{cities[0].Dossier.ID, elsewhere.ID}); err != nil {
		t.Errorf("applicant in two calls: %v", err)
	}
	if got := tm.listAll("country=PT", cities[0].Token); len(got) != 0 {
		t.Errorf("French applicant asking for Portugal sees %v", ids(got))
	}
	// An empty list is an empty array, not null.
	r := tm.MustSend("GET", "/api/v1/applications?state=designated", secretariat, nil)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &raw); err != nil || string(raw["items"]) != "[]" {
		t.Errorf("empty list: %s, want items []", r.Body)
	}
}

// shot is one of many requests sent at once.
type shot struct {
	status int
	code   string
	err    error
}

// volley sends n requests at the same instant and returns their answers.
func (tm *TestMain) volley(n int, req func(i int) (method, path, token string, body any)) []shot {
	out := make([]shot, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			method, path, token, body := req(i)
			<-start
			r, err := tm.Send(method, path, token, body)
			if err != nil {
				out[i].err = err
				return
			}
			out[i].status = r.Status
			if r.Status != 200 {
				var e APIError
				out[i].err = json.Unmarshal(r.Body, &e)
				out[i].code = e.Error.Code
			}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// count tallies the answers by status and code.
func count(shots []shot) (map[string]int, error) {
	tally := map[string]int{}
	for _, s := range shots {
		if s.err != nil {
			return nil, s.err
		}
		tally[fmt.Sprintf("%d %s", s.status, s.code)]++
	}
	return tally, nil
}

// Sixteen clicks on "endorse" at once endorse the dossier once.
func TestAPI_Concurrent_SameEndorsementOnce(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	commission := tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody("race"), nil)
	arles := tm.newCity("Arles", "FR", "Design")
	tm.submitDossier(arles, "race")

	shots := tm.volley(16, func(int) (string, string, string, any) {
		return "POST", "/api/v1/applications/" + arles.Dossier.ID + "/transitions", commission, map[string]string{"event": "endorse"}
	})
	tally, err := count(shots)
	if err != nil {
		t.Fatal(err)
	}
	if tally["200 "] != 1 || tally["409 invalid_transition"] != 15 {
		t.Fatalf("16 simultaneous endorsements: %v, want one 200 and fifteen 409 invalid_transition", tally)
	}
	d := tm.dossier(arles.Dossier.ID, commission)
	if d.State != "endorsed" || d.Version != arles.Dossier.Version+1 {
		t.Fatalf("after the volley: %s v%d, want endorsed v%d", d.State, d.Version, arles.Dossier.Version+1)
	}
	n := 0
	for _, ev := range tm.history(arles.Dossier.ID, secretariat) {
		if ev.Event == "endorse" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("history has %d endorse events, want 1", n)
	}
}

// Sixteen endorsements of sixteen dossiers at once never exceed the
// country's quota.
func TestAPI_Concurrent_EndorsementsRespectQuota(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	commission := tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	body := callBody("race")
	body["distinct_fields"] = false
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, body, nil)
	var cities []*city
	for i := range 16 {
		c := tm.newCity(fmt.Sprintf("Commune %02d", i), "FR", "Film")
		tm.submitDossier(c, "race")
		cities = append(cities, c)
	}

	shots := tm.volley(16, func(i int) (string, string, string, any) {
		return "POST", "/api/v1/applications/" + cities[i].Dossier.ID + "/transitions", commission, map[string]string{"event": "endorse"}
	})
	tally, err := count(shots)
	if err != nil {
		t.Fatal(err)
	}
	if tally["200 "] != 2 || tally["409 quota_exceeded"] != 14 {
		t.Fatalf("16 simultaneous endorsements with a quota of 2: %v", tally)
	}
	if got := tm.listAll("state=endorsed", secretariat); len(got) != 2 {
		t.Fatalf("%d dossiers endorsed, want 2", len(got))
	}
}

// A cursor past the last dossier, under any filter, is an empty last page
// (ids are compared whole, whatever the length of the call, field or
// country around them in the indexes).
func TestAPI_Applications_CursorPastTheEndIsAnEmptyLastPage(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	const long = "uccn-creative-cities-call-for-applications-2029"
	body := callBody(long)
	body["fields"] = []string{"Crafts and Folk Art", "Film"}
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, body, nil)
	for i, field := range []string{"Crafts and Folk Art", "Film", "Crafts and Folk Art"} {
		tm.submitDossier(tm.newCity(fmt.Sprintf("Bourg %d", i), "FR", field), long)
	}
	for _, q := range []string{"", "call=" + long, "field=Crafts%20and%20Folk%20Art", "field=Film", "state=submitted",
		"country=FR", "call=" + long + "&field=Crafts%20and%20Folk%20Art&country=FR"} {
		var p Page
		tm.MustDo(200, "GET", "/api/v1/applications?cursor=ZZZZZZZZZZZZZZZZ&"+q, secretariat, nil, &p)
		if len(p.Items) != 0 || p.NextCursor != "" {
			t.Errorf("?%s after the last id: %d items, next %q; want an empty last page", q, len(p.Items), p.NextCursor)
		}
		first := tm.listAll("limit=2&"+q, secretariat)
		if len(first) == 0 {
			t.Errorf("?%s lists nothing", q)
		}
	}
}
