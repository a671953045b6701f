package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The results embargo: until a call's announcement_at, no response an
// applicant, a commission or an evaluator can get tells a recommendation:
// not the dossier, its version or time, its history, a list or its filters,
// nor a refusal. The secretariat sees the truth all along; everyone sees it
// from the announcement on.

// embLeaks are the strings no embargoed body may hold.
var embLeaks = []string{"recommended", "not_recommended", "hidden_moves", `"recommend"`, `"not_recommend"`}

// embShown is a dossier as the test compares it across the embargo.
type embShown struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Version     int       `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
	HiddenMoves int       `json:"hidden_moves"`
}

// embFixture is a call under embargo: Cannes recommended, Rouen not
// recommended, Covilhã (PT) still under evaluation; and, in a second call,
// another recommended dossier of Cannes for it to withdraw.
type embFixture struct {
	*TestMain
	t                                 *testing.T
	secretariat, commissionFR, commPT string
	evaluatorCN, evaluatorCNEmail     string
	cannes, cannesB, rouen, covilha   *city
}

// embViewer is an account under embargo and the dossiers it may see.
type embViewer struct {
	name, token string
	sees        []*city
}

func (f *embFixture) viewers() []embViewer {
	return []embViewer{
		{"applicant Cannes", f.cannes.Token, []*city{f.cannes, f.cannesB}},
		{"commission FR", f.commissionFR, []*city{f.cannes, f.rouen, f.cannesB}},
		{"evaluator CN (assigned to Cannes)", f.evaluatorCN, []*city{f.cannes}},
	}
}

// embLists are the list queries every viewer makes.
var embLists = []string{
	"", "state=under_evaluation", "state=recommended", "state=not_recommended",
	"call=emb&state=under_evaluation", "call=emb&state=recommended", "state=designated", "state=not_designated",
}

func newEmbFixture(t *testing.T) *embFixture {
	tm := MustRunMain(t, false)
	f := &embFixture{TestMain: tm, t: t}
	f.secretariat = tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	f.commissionFR = tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	f.commPT = tm.MustUser("commission-pt@example.org", engine.RoleCommission, "PT", "")
	f.evaluatorCNEmail = "expert@cn.example.org"
	f.evaluatorCN = tm.MustUser(f.evaluatorCNEmail, engine.RoleEvaluator, "CN", "")
	tm.MustDo(201, "POST", "/api/v1/calls", f.secretariat, mxEvalCallBody("emb"), nil)
	tm.MustDo(201, "POST", "/api/v1/calls", f.secretariat, mxEvalCallBody("emb-withdraw"), nil)

	f.cannes = tm.newCity("Cannes", "FR", "Film")
	f.rouen = tm.newCity("Rouen", "FR", "Music")
	f.covilha = &city{Email: "covilha@pt.example.org", Name: "Covilhã", Country: "PT", Field: "Design"}
	f.covilha.Token = tm.MustUser(f.covilha.Email, engine.RoleApplicant, "PT", "Covilhã")
	b := *f.cannes
	f.cannesB = &b
	for _, c := range []*city{f.cannes, f.rouen, f.covilha} {
		tm.submitDossier(c, "emb")
	}
	tm.submitDossier(f.cannesB, "emb-withdraw")
	for _, c := range []*city{f.cannes, f.rouen, f.cannesB} {
		tm.move(f.commissionFR, &c.Dossier, "endorse", "", "endorsed")
	}
	tm.move(f.commPT, &f.covilha.Dossier, "endorse", "", "endorsed")

	// The calls close; the secretariat takes every dossier to evaluation.
	tm.Advance(mxEvalClosed)
	f.relogin()
	for _, c := range f.all() {
		tm.move(f.secretariat, &c.Dossier, "accept", "", "eligible")
		tm.move(f.secretariat, &c.Dossier, "start_evaluation", "", "under_evaluation")
	}
	var who struct{ ID string }
	tm.MustDo(200, "GET", "/api/v1/me", f.evaluatorCN, nil, &who)
	tm.MustDo(201, "POST", "/api/v1/applications/"+f.cannes.Dossier.ID+"/assignments", f.secretariat,
		map[string]string{"evaluator": who.ID, "kind": "expert"}, nil)
	return f
}

func (f *embFixture) all() []*city { return []*city{f.cannes, f.rouen, f.covilha, f.cannesB} }

// relogin signs everyone in again, after the clock passed the idle time.
func (f *embFixture) relogin() {
	f.t.Helper()
	f.secretariat = f.MustLogin("secretariat@example.org", testPassword)
	f.commissionFR = f.MustLogin("commission-fr@example.org", testPassword)
	f.commPT = f.MustLogin("commission-pt@example.org", testPassword)
	f.evaluatorCN = f.MustLogin(f.evaluatorCNEmail, testPassword)
	for _, c := range []*city{f.cannes, f.rouen, f.covilha} {
		c.Token = f.MustLogin(c.Email, testPassword)
	}
	f.cannesB.Token = f.cannes.Token
}

// shown reads a dossier as the holder of token sees it, checking that the
// body tells nothing of the embargo.
func (f *embFixture) shown(id, token, who string) embShown {
	f.t.Helper()
	raw := f.Raw("/api/v1/applications/"+id, token)
	f.noLeak(who+" GET dossier", raw)
	var d embShown
	if err := json.Unmarshal(raw, &d); err != nil {
		f.t.Fatal(err)
	}
	return d
}

// noLeak fails when an embargoed body holds a word of the results.
func (f *embFixture) noLeak(what string, body []byte) {
	f.t.Helper()
	for _, s := range embLeaks {
		if bytes.Contains(body, []byte(s)) {
			f.t.Errorf("%s: the body holds %q during the embargo: %s", what, s, body)
		}
	}
}

// mustHistory reads a dossier's history and checks its numbering: 1..n,
// no gap that would tell of a hidden event.
func (f *embFixture) mustHistory(what, id, token string) ([]Event, []byte) {
	f.t.Helper()
	raw := f.Raw("/api/v1/applications/"+id+"/history", token)
	var h struct{ Items []Event }
	if err := json.Unmarshal(raw, &h); err != nil {
		f.t.Fatal(err)
	}
	for i, ev := range h.Items {
		if ev.Seq != i+1 {
			f.t.Errorf("%s: history[%d] has seq %d, want %d: %s", what, i, ev.Seq, i+1, raw)
		}
	}
	return h.Items, raw
}

func embEvents(h []Event) []string {
	out := make([]string, len(h))
	for i, ev := range h {
		out[i] = ev.Event
	}
	return out
}

// list reads one list (a single page) and returns its ids and raw body.
func (f *embFixture) list(query, token string) ([]string, []byte) {
	f.t.Helper()
	raw := f.Raw("/api/v1/applications?limit=500&"+query, token)
	var p Page
	if err := json.Unmarshal(raw, &p); err != nil {
		f.t.Fatal(err)
	}
	if p.NextCursor != "" {
		f.t.Fatalf("list %s: more than one page", query)
	}
	return ids(p.Items), raw
}

// snapshot records every answer the viewers get, to compare after the
// hidden moves.
func (f *embFixture) snapshot() map[string][]byte {
	f.t.Helper()
	out := map[string][]byte{}
	for _, v := range f.viewers() {
		for _, c := range v.sees {
			for _, p := range []string{"/api/v1/applications/" + c.Dossier.ID, "/api/v1/applications/" + c.Dossier.ID + "/history"} {
				out[v.name+" "+p] = f.Raw(p, v.token)
			}
		}
		for _, q := range embLists {
			_, raw := f.list(q, v.token)
			out[v.name+" list "+q] = raw
		}
	}
	return out
}

// refusal sends a request that must be refused with status and code, checks
// that the refusal tells nothing, and that the dossier is unchanged for the
// city and for the secretariat. It returns the message.
func (f *embFixture) refusal(what string, status int, code, method, path, token string, body any, id string) string {
	f.t.Helper()
	app := "/api/v1/applications/" + id
	probes := []mxProbe{{app, f.cannes.Token}, {app + "/history", f.cannes.Token}, {app, f.secretariat}, {app + "/history", f.secretariat}}
	if id == f.rouen.Dossier.ID {
		probes[0].token, probes[1].token = f.rouen.Token, f.rouen.Token
	}
	var before [][]byte
	for _, p := range probes {
		before = append(before, f.Raw(p.path, p.token))
	}
	r := f.MustSend(method, path, token, body)
	e := MustAPIError(f.t, r, status, code)
	f.noLeak(what, r.Body)
	for i, p := range probes {
		f.MustUnchanged(p.path, p.token, before[i])
	}
	return e.Error.Message
}

// TestEmbargo_HoldsInEveryResponseUntilTheAnnouncement follows a call from
// the recommendations to the announcement, as the cities, their commission,
// an evaluator, the secretariat and the public see it.
func TestEmbargo_HoldsInEveryResponseUntilTheAnnouncement(t *testing.T) {
	f := newEmbFixture(t)
	cannesA, cannesB, rouen, covilha := f.cannes.Dossier.ID, f.cannesB.Dossier.ID, f.rouen.Dossier.ID, f.covilha.Dossier.ID

	// Before the hidden moves: what everyone is shown.
	wasA := f.shown(cannesA, f.cannes.Token, "Cannes")
	wasB := f.shown(cannesB, f.cannes.Token, "Cannes")
	wasRouen := f.shown(rouen, f.commissionFR, "commission FR")
	for _, d := range []embShown{wasA, wasB, wasRouen} {
		if d.State != "under_evaluation" {
			t.Fatalf("dossier %s before any recommendation is %s", d.ID, d.State)
		}
	}
	hA, _ := f.mustHistory("Cannes", cannesA, f.cannes.Token)
	before := f.snapshot()

	// Ten minutes later the secretariat recommends Cannes (twice, in two
	// calls) and not Rouen. A leaked time would differ from the recorded one.
	f.Advance(f.Clock.Now().Add(10 * time.Minute))
	var truth embShown
	f.MustDo(200, "POST", "/api/v1/applications/"+cannesA+"/transitions", f.secretariat, map[string]string{"event": "recommend"}, &truth)
	if truth.State != "recommended" || truth.Version != wasA.Version+1 || truth.HiddenMoves != 1 {
		t.Fatalf("the secretariat's answer to recommend: %+v, want recommended v%d with one hidden move", truth, wasA.Version+1)
	}
	f.MustDo(200, "POST", "/api/v1/applications/"+cannesB+"/transitions", f.secretariat, map[string]string{"event": "recommend"}, nil)
	f.MustDo(200, "POST", "/api/v1/applications/"+rouen+"/transitions", f.secretariat, map[string]string{"event": "not_recommend"}, nil)

	// Every viewer is shown exactly what it was shown before, byte for byte.
	after := f.snapshot()
	for key, raw := range after {
		if !bytes.Equal(raw, before[key]) {
			t.Errorf("%s changed with the hidden moves:\nbefore %s\nafter  %s", key, before[key], raw)
		}
		f.noLeak(key, raw)
	}
	for _, v := range f.viewers() {
		for _, c := range v.sees {
			d := f.shown(c.Dossier.ID, v.token, v.name)
			was := map[string]embShown{cannesA: wasA, cannesB: wasB, rouen: wasRouen}[c.Dossier.ID]
			if d.State != "under_evaluation" || d.Version != was.Version || !d.UpdatedAt.Equal(was.UpdatedAt) || d.HiddenMoves != 0 {
				t.Errorf("%s sees %s as %+v, want under_evaluation v%d updated %v", v.name, c.Name, d, was.Version, was.UpdatedAt)
			}
			h, raw := f.mustHistory(v.name, c.Dossier.ID, v.token)
			f.noLeak(v.name+" history of "+c.Name, raw)
			if evs := embEvents(h); slices.Contains(evs, "recommend") || slices.Contains(evs, "not_recommend") ||
				!slices.Equal(evs, []string{"create", "submit", "endorse", "accept", "start_evaluation"}) {
				t.Errorf("%s: history of %s is %v", v.name, c.Name, evs)
			}
		}
		mine := func(q string) []string { got, _ := f.list(q, v.token); return got }
		var want []string
		for _, c := range v.sees {
			want = append(want, c.Dossier.ID)
		}
		if err := sameIDs(mine(""), want); err != nil {
			t.Errorf("%s, no filter: %v", v.name, err)
		}
		if err := sameIDs(mine("state=under_evaluation"), want); err != nil {
			t.Errorf("%s, state=under_evaluation: %v", v.name, err)
		}
		// Page by page, the filter gives the same set, in as many pages.
		if err := sameIDs(ids(f.listAll("state=under_evaluation&limit=1", v.token)), want); err != nil {
			t.Errorf("%s, state=under_evaluation one per page: %v", v.name, err)
		}
		for _, q := range []string{"state=recommended", "state=not_recommended", "call=emb&state=recommended", "state=designated"} {
			if got := mine(q); len(got) != 0 {
				t.Errorf("%s, %s: %v, want nothing", v.name, q, got)
			}
		}
	}
	if h, _ := f.mustHistory("Cannes", cannesA, f.cannes.Token); len(h) != len(hA) {
		t.Errorf("Cannes's history grew from %d to %d events", len(hA), len(h))
	}
	// The PT dossier, really under evaluation, is where it was, for its own.
	if got, _ := f.list("state=under_evaluation", f.covilha.Token); !slices.Equal(got, []string{covilha}) {
		t.Errorf("Covilhã's under_evaluation list: %v", got)
	}
	if got, _ := f.list("state=under_evaluation", f.commPT); !slices.Equal(got, []string{covilha}) {
		t.Errorf("commission PT's under_evaluation list: %v", got)
	}

	// Refusals tell nothing either: they name the state the caller sees.
	msg := f.refusal("commission FR endorses Cannes", 409, "invalid_transition", "POST", "/api/v1/applications/"+cannesA+"/transitions",
		f.commissionFR, map[string]string{"event": "endorse"}, cannesA)
	if !strings.Contains(msg, "under_evaluation") {
		t.Errorf("refused endorse: %q, want it to name under_evaluation", msg)
	}
	msg = f.refusal("commission FR endorses Rouen", 409, "invalid_transition", "POST", "/api/v1/applications/"+rouen+"/transitions",
		f.commissionFR, map[string]string{"event": "endorse"}, rouen)
	if !strings.Contains(msg, "under_evaluation") {
		t.Errorf("refused endorse: %q, want it to name under_evaluation", msg)
	}
	f.refusal("commission FR declines Cannes", 409, "invalid_transition", "POST", "/api/v1/applications/"+cannesA+"/transitions",
		f.commissionFR, map[string]string{"event": "decline", "note": "Too late."}, cannesA)
	for _, ev := range []string{"submit", "retract"} {
		msg = f.refusal("Cannes fires "+ev, 409, "invalid_transition", "POST", "/api/v1/applications/"+cannesA+"/transitions",
			f.cannes.Token, map[string]string{"event": ev}, cannesA)
		if !strings.Contains(msg, "under_evaluation") {
			t.Errorf("refused %s: %q, want it to name under_evaluation", ev, msg)
		}
	}
	f.refusal("the evaluator withdraws Cannes", 403, "forbidden", "POST", "/api/v1/applications/"+cannesA+"/transitions",
		f.evaluatorCN, map[string]string{"event": "withdraw"}, cannesA)
	f.refusal("the commission edits Cannes", 403, "forbidden", "PUT", "/api/v1/applications/"+cannesA,
		f.commissionFR, completeDraft(wasA.Version, "Cannes"), cannesA)
	// A version one past the one the city was shown is stale; the refusal
	// names the version the city was shown, not the real one.
	stale := wasB.Version + 1
	msg = f.refusal("Cannes withdraws at a version ahead", 409, "stale_version", "POST", "/api/v1/applications/"+cannesB+"/transitions",
		f.cannes.Token, map[string]any{"event": "withdraw", "version": stale}, cannesB)
	if !strings.Contains(msg, strconv.Itoa(wasB.Version)) {
		t.Errorf("stale withdraw: %q, want it to name version %d", msg, wasB.Version)
	}

	// The secretariat sees the truth.
	sa := f.shown2(cannesA, f.secretariat)
	if sa.State != "recommended" || sa.Version != wasA.Version+1 || sa.HiddenMoves != 1 {
		t.Errorf("the secretariat sees Cannes as %+v, want recommended v%d with hidden_moves 1", sa, wasA.Version+1)
	}
	if raw := f.Raw("/api/v1/applications/"+cannesA, f.secretariat); !bytes.Contains(raw, []byte(`"hidden_moves":1`)) {
		t.Errorf("the secretariat's dossier has no hidden_moves: %s", raw)
	}
	if sr := f.shown2(rouen, f.secretariat); sr.State != "not_recommended" || sr.Version != wasRouen.Version+1 {
		t.Errorf("the secretariat sees Rouen as %+v, want not_recommended v%d", sr, wasRouen.Version+1)
	}
	if h, _ := f.mustHistory("secretariat", cannesA, f.secretariat); embEvents(h)[len(h)-1] != "recommend" {
		t.Errorf("the secretariat's history of Cannes: %v, want it to end with recommend", embEvents(h))
	}
	if got, _ := f.list("state=recommended", f.secretariat); sameIDs(got, []string{cannesA, cannesB}) != nil {
		t.Errorf("the secretariat's recommended list: %v, want Cannes's two", got)
	}
	if got, _ := f.list("state=under_evaluation", f.secretariat); !slices.Equal(got, []string{covilha}) {
		t.Errorf("the secretariat's under_evaluation list: %v, want Covilhã only", got)
	}

	// The city withdraws its other recommended dossier at the version it was
	// shown: that succeeds, and the answer still tells nothing.
	r := f.MustSend("POST", "/api/v1/applications/"+cannesB+"/transitions", f.cannes.Token, map[string]any{"event": "withdraw", "version": wasB.Version})
	if r.Status != 200 {
		t.Fatalf("withdraw at the shown version: %d %s", r.Status, r.Body)
	}
	f.noLeak("Cannes withdraws", r.Body)
	var wd embShown
	_ = json.Unmarshal(r.Body, &wd)
	if wd.State != "withdrawn" || wd.Version != wasB.Version+1 {
		t.Errorf("withdrawn dossier shown as %+v, want withdrawn v%d", wd, wasB.Version+1)
	}
	if d := f.shown(cannesB, f.cannes.Token, "Cannes"); d != wd {
		t.Errorf("withdrawn dossier read back as %+v, answered as %+v", d, wd)
	}
	h, raw := f.mustHistory("Cannes", cannesB, f.cannes.Token)
	f.noLeak("Cannes's history after withdrawing", raw)
	if last := h[len(h)-1]; last.Event != "withdraw" || last.From != "under_evaluation" || last.To != "withdrawn" || len(h) != 6 {
		t.Errorf("history after withdrawing: %+v", h)
	}
	if d := f.shown(cannesB, f.commissionFR, "commission FR"); d.State != "withdrawn" {
		t.Errorf("commission FR sees the withdrawn dossier as %s", d.State)
	}

	// The results do not exist before the announcement, for anybody, up to
	// the last minute, and the embargo holds until then.
	f.Advance(callAnnounce.Add(-time.Minute))
	f.relogin()
	for who, tok := range map[string]string{"the public": "", "Cannes": f.cannes.Token, "commission FR": f.commissionFR, "the secretariat": f.secretariat} {
		r := f.MustSend("GET", "/api/v1/calls/emb/results", tok, nil)
		MustAPIError(t, r, 404, "not_found")
		f.noLeak(who+" results", r.Body)
	}
	if d := f.shown(cannesA, f.cannes.Token, "Cannes"); d != wasA {
		t.Errorf("a minute before the announcement Cannes sees %+v, want %+v", d, wasA)
	}

	// From the announcement on, the city sees its designation and the whole
	// story; the public sees the results.
	f.Advance(callAnnounce)
	f.relogin()
	d := f.shown2(cannesA, f.cannes.Token)
	if d.State != "designated" || d.Version != wasA.Version+2 {
		t.Errorf("after the announcement Cannes sees %+v, want designated v%d", d, wasA.Version+2)
	}
	h, _ = f.mustHistory("Cannes", cannesA, f.cannes.Token)
	if evs := embEvents(h); !slices.Equal(evs, []string{"create", "submit", "endorse", "accept", "start_evaluation", "recommend", "designate"}) {
		t.Errorf("after the announcement Cannes's history is %v", evs)
	}
	if h[5].From != "under_evaluation" || h[5].To != "recommended" || h[6].From != "recommended" || h[6].To != "designated" {
		t.Errorf("after the announcement the last moves are %+v, %+v", h[5], h[6])
	}
	if d := f.shown2(rouen, f.commissionFR); d.State != "not_designated" {
		t.Errorf("after the announcement the commission sees Rouen %s", d.State)
	}
	if got, _ := f.list("state=recommended", f.commissionFR); len(got) != 0 {
		t.Errorf("after the announcement, recommended: %v (designated now)", got)
	}
	var results struct {
		Items []struct{ City, Country, Field string }
	}
	f.MustDo(200, "GET", "/api/v1/calls/emb/results", "", nil, &results)
	if len(results.Items) != 1 || results.Items[0].City != "Cannes" || results.Items[0].Field != "Film" {
		t.Errorf("results %+v, want Cannes (Film) only", results.Items)
	}
}

// shown2 reads a dossier without the leak check (for the secretariat, and
// after the announcement).
func (f *embFixture) shown2(id, token string) embShown {
	f.t.Helper()
	var d embShown
	f.MustDo(200, "GET", "/api/v1/applications/"+id, token, nil, &d)
	return d
}

// An edit of a dossier the city is shown as under evaluation must be
// refused as it would be for one really under evaluation: for not being a
// draft, at the version it was shown, with a message naming under_evaluation.
func TestEmbargo_DraftEditRefusalTellsNothing(t *testing.T) {
	f := newEmbFixture(t)
	id := f.cannes.Dossier.ID
	was := f.shown(id, f.cannes.Token, "Cannes")
	// What the city gets for a dossier really under evaluation.
	msg := f.refusal("Cannes edits (before)", 409, "invalid_transition", "PUT", "/api/v1/applications/"+id,
		f.cannes.Token, completeDraft(was.Version, "Cannes"), id)
	if !strings.Contains(msg, "under_evaluation") {
		t.Fatalf("edit of a dossier under evaluation: %q", msg)
	}
	f.MustDo(200, "POST", "/api/v1/applications/"+id+"/transitions", f.secretariat, map[string]string{"event": "recommend"}, nil)
	r := f.MustSend("PUT", "/api/v1/applications/"+id, f.cannes.Token, completeDraft(was.Version, "Cannes"))
	f.noLeak("Cannes edits (after)", r.Body)
	var e APIError
	_ = json.Unmarshal(r.Body, &e)
	if r.Status != 409 || e.Error.Code != "invalid_transition" || e.Error.Message != msg {
		t.Errorf("edit of the recommended dossier at the version shown (%d): %d %s; want what it got before: 409 invalid_transition %q",
			was.Version, r.Status, r.Body, msg)
	}
	if r := f.MustSend("PUT", "/api/v1/applications/"+id, f.cannes.Token, completeDraft(was.Version+1, "Cannes")); r.Status != 409 || bytes.Contains(r.Body, []byte("recommended")) ||
		!bytes.Contains(r.Body, []byte("stale_version")) {
		t.Errorf("edit at the real (hidden) version %d: %d %s; want 409 stale_version, nothing recommended", was.Version+1, r.Status, r.Body)
	}
	if d := f.shown(id, f.cannes.Token, "Cannes"); d != was {
		t.Errorf("after refused edits Cannes sees %+v, want %+v", d, was)
	}
}
