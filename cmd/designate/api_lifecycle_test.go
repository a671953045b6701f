package main

import (
	"bytes"
	"os"
	"testing"
	"time"

	"designate/engine"
)

// A whole call through the API only: the secretariat configures it, cities
// apply, commissions endorse within their quota, deadlines act by
// themselves, the secretariat evaluates, and the results become public at
// the announcement, not a minute before.
func TestAPI_FullCycle_FromDraftToPublicResults(t *testing.T) {
	tm := MustRunMain(t, false)
	const callID = "uccn-2029"
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	commissionFR := tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	commissionPT := tm.MustUser("commission-pt@example.org", engine.RoleCommission, "PT", "")

	// The call opened yesterday: it is open as soon as it exists, with the
	// documented defaults.
	var call Call
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody(callID), &call)
	if call.State != "open" || call.Version < 1 || call.MaxPerCountry != 2 || !call.DistinctFields || call.Grace != "30m0s" {
		t.Fatalf("created call %+v: want open, max_per_country 2, distinct_fields true, grace 30m", call)
	}
	if !call.SubmissionDeadline.Equal(callDeadline) || !call.AnnouncementAt.Equal(callAnnounce) {
		t.Fatalf("created call's instants %v / %v, want %v / %v", call.SubmissionDeadline, call.AnnouncementAt, callDeadline, callAnnounce)
	}

	lyon := tm.newCity("Lyon", "FR", "Film")
	dijon := tm.newCity("Dijon", "FR", "Gastronomy")
	annecy := tm.newCity("Annecy", "FR", "Film") // same field as Lyon
	porto := tm.newCity("Porto", "PT", "Design")
	braga := tm.newCity("Braga", "PT", "Music") // never submits
	for _, c := range []*city{lyon, dijon, annecy, porto} {
		tm.startDossier(c, callID)
		// Two saves, each at the version the city read, each the next.
		for want := 2; want <= 3; want++ {
			body := completeDraft(c.Dossier.Version, c.Name)
			tm.MustDo(200, "PUT", "/api/v1/applications/"+c.Dossier.ID, c.Token, body, &c.Dossier)
			if c.Dossier.Version != want || c.Dossier.State != "draft" {
				t.Fatalf("%s: save gave %s v%d, want draft v%d", c.Name, c.Dossier.State, c.Dossier.Version, want)
			}
		}
		tm.move(c.Token, &c.Dossier, "submit", "", "submitted")
	}
	tm.startDossier(braga, callID)

	// The French commission endorses Lyon; Annecy is in Lyon's field, so
	// distinct_fields refuses it; Dijon takes the second place; Annecy is
	// then refused again, France having its two.
	tm.move(commissionFR, &lyon.Dossier, "endorse", "", "endorsed")
	refused := tm.MustFail(409, "quota_exceeded", "POST", "/api/v1/applications/"+annecy.Dossier.ID+"/transitions", commissionFR, map[string]string{"event": "endorse"})
	if !bytes.Contains([]byte(refused.Error.Message), []byte("Film")) {
		t.Errorf("distinct_fields refusal %q does not name the field", refused.Error.Message)
	}
	tm.move(commissionFR, &dijon.Dossier, "endorse", "", "endorsed")
	refused = tm.MustFail(409, "quota_exceeded", "POST", "/api/v1/applications/"+annecy.Dossier.ID+"/transitions", commissionFR, map[string]string{"event": "endorse"})
	if !bytes.Contains([]byte(refused.Error.Message), []byte("2")) {
		t.Errorf("max_per_country refusal %q does not say how many", refused.Error.Message)
	}
	if d := tm.dossier(annecy.Dossier.ID, commissionFR); d.State != "submitted" || d.Version != annecy.Dossier.Version {
		t.Fatalf("Annecy after refused endorsements: %s v%d, want submitted v%d", d.State, d.Version, annecy.Dossier.Version)
	}
	// A decline needs a reason.
	e := tm.MustFail(400, "invalid", "POST", "/api/v1/applications/"+porto.Dossier.ID+"/transitions", commissionPT, map[string]string{"event": "decline"})
	if e.Error.Fields["note"] == "" {
		t.Errorf("decline without a note: fields %v, want one for note", e.Error.Fields)
	}
	tm.move(commissionPT, &porto.Dossier, "decline", "The plan does not involve the city's creative sector.", "not_endorsed")

	// Eligibility is decided after the close, not before.
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/applications/"+lyon.Dossier.ID+"/transitions", secretariat, map[string]string{"event": "accept"})
	if d := tm.dossier(lyon.Dossier.ID, secretariat); d.State != "endorsed" || d.Version != lyon.Dossier.Version {
		t.Fatalf("Lyon after a refused accept: %s v%d, want endorsed v%d", d.State, d.Version, lyon.Dossier.Version)
	}
	// The call closes at deadline + grace, not at the deadline, and not on
	// the secretariat's say-so before that.
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/calls/"+callID+"/transitions", secretariat, map[string]string{"event": "close"})
	tm.Advance(callDeadline.Add(time.Minute))
	tm.MustDo(200, "GET", "/api/v1/calls/"+callID, "", nil, &call)
	if call.State != "open" {
		t.Fatalf("call during the grace period is %s, want open", call.State)
	}

	// Past the close: the call closes and the unsubmitted draft lapses,
	// by themselves. Sessions of weeks ago have ended: everyone signs in again.
	tm.Advance(callClose.Add(time.Minute))
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/applications", secretariat, nil)
	secretariat = tm.MustLogin("secretariat@example.org", testPassword)
	for _, c := range []*city{lyon, dijon, annecy, porto, braga} {
		c.Token = tm.MustLogin(c.Email, testPassword)
	}
	tm.MustDo(200, "GET", "/api/v1/calls/"+callID, "", nil, &call)
	if call.State != "closed" {
		t.Fatalf("call after deadline + grace is %s, want closed", call.State)
	}
	if d := tm.dossier(braga.Dossier.ID, braga.Token); d.State != "lapsed" {
		t.Fatalf("Braga's unsubmitted draft after the close is %s, want lapsed", d.State)
	}
	tm.MustFail(404, "not_found", "GET", "/api/v1/applications/"+braga.Dossier.ID, secretariat, nil)

	// Evaluation.
	tm.move(secretariat, &lyon.Dossier, "accept", "", "eligible")
	tm.move(secretariat, &dijon.Dossier, "accept", "", "eligible")
	tm.move(secretariat, &lyon.Dossier, "start_evaluation", "", "under_evaluation")
	tm.move(secretariat, &dijon.Dossier, "start_evaluation", "", "under_evaluation")
	tm.move(secretariat, &lyon.Dossier, "recommend", "", "recommended")
	tm.move(secretariat, &dijon.Dossier, "not_recommend", "", "not_recommended")

	// The results are embargoed until the announcement: they do not exist,
	// for the public or the secretariat, and nobody can designate early.
	tm.MustFail(404, "not_found", "GET", "/api/v1/calls/"+callID+"/results", "", nil)
	tm.MustFail(404, "not_found", "GET", "/api/v1/calls/"+callID+"/results", secretariat, nil)
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/applications/"+lyon.Dossier.ID+"/transitions", secretariat, map[string]string{"event": "designate"})
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/calls/"+callID+"/transitions", secretariat, map[string]string{"event": "announce"})
	tm.Advance(callAnnounce.Add(-time.Minute))
	secretariat = tm.MustLogin("secretariat@example.org", testPassword)
	tm.MustFail(404, "not_found", "GET", "/api/v1/calls/"+callID+"/results", "", nil)
	if d := tm.dossier(lyon.Dossier.ID, secretariat); d.State != "recommended" {
		t.Fatalf("Lyon a minute before the announcement is %s, want recommended", d.State)
	}

	// The announcement designates, in the same step as the call moves.
	tm.Advance(callAnnounce)
	secretariat = tm.MustLogin("secretariat@example.org", testPassword)
	tm.MustDo(200, "GET", "/api/v1/calls/"+callID, "", nil, &call)
	if call.State != "announced" || call.AnnouncedAt == nil {
		t.Fatalf("call at its announcement: %s (announced_at %v), want announced", call.State, call.AnnouncedAt)
	}
	want := map[*city]string{lyon: "designated", dijon: "not_designated", annecy: "lapsed", porto: "not_endorsed", braga: "lapsed"}
	for c, state := range want {
		if d := tm.dossier(c.Dossier.ID, tm.MustLogin(c.Email, testPassword)); d.State != state {
			t.Errorf("%s after the announcement is %s, want %s", c.Name, d.State, state)
		}
	}
	var results struct {
		Call  string `json:"call"`
		Items []struct {
			City, Country, Field string
		} `json:"items"`
	}
	tm.MustDo(200, "GET", "/api/v1/calls/"+callID+"/results", "", nil, &results)
	if results.Call != callID || len(results.Items) != 1 || results.Items[0].City != "Lyon" ||
		results.Items[0].Country != "FR" || results.Items[0].Field != "Film" {
		t.Fatalf("public results %+v, want exactly Lyon, FR, Film", results)
	}

	// Lyon's history tells the whole story, oldest first.
	h := tm.history(lyon.Dossier.ID, secretariat)
	type line struct{ event, from, to, actor, role string }
	wantH := []line{
		{"create", "", "draft", lyon.Email, "applicant"},
		{"submit", "draft", "submitted", lyon.Email, "applicant"},
		{"endorse", "submitted", "endorsed", "commission-fr@example.org", "commission"},
		{"accept", "endorsed", "eligible", "secretariat@example.org", "secretariat"},
		{"start_evaluation", "eligible", "under_evaluation", "secretariat@example.org", "secretariat"},
		{"recommend", "under_evaluation", "recommended", "secretariat@example.org", "secretariat"},
		{"designate", "recommended", "designated", "system", "system"},
	}
	if len(h) != len(wantH) {
		t.Fatalf("Lyon's history has %d events, want %d: %+v", len(h), len(wantH), h)
	}
	for i, w := range wantH {
		got := line{h[i].Event, h[i].From, h[i].To, h[i].Actor, h[i].Role}
		if got != w || h[i].Seq != i+1 {
			t.Errorf("history[%d] = seq %d %+v, want seq %d %+v", i, h[i].Seq, got, i+1, w)
		}
		if i > 0 && h[i].At.Before(h[i-1].At) {
			t.Errorf("history[%d] at %v is before the event it follows (%v)", i, h[i].At, h[i-1].At)
		}
	}
	if at := h[len(h)-1].At; at.Before(callAnnounce) {
		t.Errorf("designated at %v, before the announcement %v", at, callAnnounce)
	}
	if hp := tm.history(porto.Dossier.ID, tm.MustLogin(porto.Email, testPassword)); hp[len(hp)-1].Note == "" {
		t.Errorf("Porto's decline was recorded without its reason: %+v", hp[len(hp)-1])
	}

	// Archiving keeps the results public.
	tm.MustDo(200, "POST", "/api/v1/calls/"+callID+"/transitions", secretariat, map[string]string{"event": "archive"}, &call)
	if call.State != "archived" {
		t.Fatalf("call after archive is %s", call.State)
	}
	tm.MustDo(200, "GET", "/api/v1/calls/"+callID+"/results", "", nil, &results)
	if len(results.Items) != 1 || results.Items[0].City != "Lyon" {
		t.Fatalf("results after archiving %+v, want Lyon only", results)
	}
}

// A call that opens in the future is planned, cannot be opened early, and
// opens by itself at its instant.
func TestAPI_Call_OpensByItselfAtItsInstant(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	opens := testStart.Add(48 * time.Hour)
	body := callBody("later")
	body["opens_at"] = opens.Format(time.RFC3339)
	var call Call
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, body, &call)
	if call.State != "planned" {
		t.Fatalf("call opening in two days is %s, want planned", call.State)
	}
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/calls/later/transitions", secretariat, map[string]string{"event": "open"})
	nice := tm.newCity("Nice", "FR", "Film")
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/calls/later/applications", nice.Token,
		map[string]string{"city": "Nice", "country": "FR", "field": "Film", "language": "fr"})
	tm.MustDo(200, "GET", "/api/v1/calls/later", "", nil, &call)
	if call.State != "planned" {
		t.Fatalf("call after a refused open is %s, want planned", call.State)
	}
	tm.Advance(opens)
	tm.MustDo(200, "GET", "/api/v1/calls/later", "", nil, &call)
	if call.State != "open" {
		t.Fatalf("call at opens_at is %s, want open", call.State)
	}
	nice.Token = tm.MustLogin(nice.Email, testPassword)
	tm.startDossier(nice, "later")
}

// A dossier may be submitted in the grace period after the deadline the
// cities are shown; the close and the endorsement deadline are the last
// instants people may act, and the scheduler acts once they have passed;
// after the close a dossier can no longer be retracted.
func TestAPI_Deadlines_GraceThenCloseThenEndorsementDeadline(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody("c"), nil)
	late := tm.newCity("Lille", "FR", "Design")
	tm.startDossier(late, "c")
	tm.MustDo(200, "PUT", "/api/v1/applications/"+late.Dossier.ID, late.Token, completeDraft(1, "Lille"), &late.Dossier)
	idle := tm.newCity("Laval", "FR", "Film")
	tm.startDossier(idle, "c")

	tm.Advance(callDeadline.Add(20 * time.Minute))
	late.Token = tm.MustLogin(late.Email, testPassword)
	tm.move(late.Token, &late.Dossier, "submit", "", "submitted")

	var call Call
	tm.Advance(callClose)
	tm.MustDo(200, "GET", "/api/v1/calls/c", "", nil, &call)
	idle.Token = tm.MustLogin(idle.Email, testPassword)
	if d := tm.dossier(idle.Dossier.ID, idle.Token); call.State != "open" || d.State != "draft" {
		t.Fatalf("at deadline + grace itself: call %s, Laval's draft %s; want still open and draft", call.State, d.State)
	}

	tm.Advance(callClose.Add(time.Second))
	tm.MustDo(200, "GET", "/api/v1/calls/c", "", nil, &call)
	if d := tm.dossier(idle.Dossier.ID, idle.Token); call.State != "closed" || d.State != "lapsed" {
		t.Fatalf("a second after deadline + grace: call %s, Laval's draft %s; want closed and lapsed", call.State, d.State)
	}
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/calls/c/applications", idle.Token,
		map[string]string{"city": "Laval", "country": "FR", "field": "Film", "language": "fr"})
	late.Token = tm.MustLogin(late.Email, testPassword)
	before := tm.Raw("/api/v1/applications/"+late.Dossier.ID, late.Token)
	tm.MustFail(409, "deadline_passed", "POST", "/api/v1/applications/"+late.Dossier.ID+"/transitions", late.Token, map[string]string{"event": "retract"})
	tm.MustUnchanged("/api/v1/applications/"+late.Dossier.ID, late.Token, before)

	// Nobody endorsed Lille: once the endorsement deadline has passed it lapses.
	tm.Advance(callEndorseBy)
	tm.MustDo(200, "GET", "/api/v1/calls/c", "", nil, &call)
	late.Token = tm.MustLogin(late.Email, testPassword)
	if d := tm.dossier(late.Dossier.ID, late.Token); call.State != "closed" || d.State != "submitted" {
		t.Fatalf("at the endorsement deadline itself: call %s, Lille %s; want closed and submitted", call.State, d.State)
	}
	tm.Advance(callEndorseBy.Add(time.Second))
	tm.MustDo(200, "GET", "/api/v1/calls/c", "", nil, &call)
	if d := tm.dossier(late.Dossier.ID, late.Token); call.State != "evaluation" || d.State != "lapsed" {
		t.Fatalf("after the endorsement deadline: call %s, Lille %s; want evaluation and lapsed", call.State, d.State)
	}
	h := tm.history(late.Dossier.ID, late.Token)
	if last := h[len(h)-1]; last.Event != "lapse" || last.Actor != "system" || last.From != "submitted" || !last.At.Equal(callEndorseBy.Add(time.Second)) {
		t.Fatalf("Lille's last event %+v, want a lapse from submitted by the system at %v", last, callEndorseBy.Add(time.Second))
	}
}

// The country quota: with max_per_country 3 and distinct_fields false, a
// country may endorse three dossiers in one field, not four.
func TestAPI_Endorse_CountryQuota(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	commission := tm.MustUser("commission-it@example.org", engine.RoleCommission, "IT", "")
	body := callBody("quota")
	body["max_per_country"], body["distinct_fields"] = 3, false
	var call Call
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, body, &call)
	if call.MaxPerCountry != 3 || call.DistinctFields {
		t.Fatalf("call %+v: want max_per_country 3, distinct_fields false", call)
	}
	var cities []*city
	for _, name := range []string{"Torino", "Bologna", "Roma", "Parma"} {
		c := tm.newCity(name, "IT", "Music")
		tm.submitDossier(c, "quota")
		cities = append(cities, c)
	}
	for _, c := range cities[:3] {
		tm.move(commission, &c.Dossier, "endorse", "", "endorsed")
	}
	before := tm.Raw("/api/v1/applications/"+cities[3].Dossier.ID, commission)
	e := tm.MustFail(409, "quota_exceeded", "POST", "/api/v1/applications/"+cities[3].Dossier.ID+"/transitions", commission, map[string]string{"event": "endorse"})
	if !bytes.Contains([]byte(e.Error.Message), []byte("3")) {
		t.Errorf("quota refusal %q does not say how many", e.Error.Message)
	}
	tm.MustUnchanged("/api/v1/applications/"+cities[3].Dossier.ID, commission, before)
	// A place freed by a withdrawal can be used.
	tm.move(cities[0].Token, &cities[0].Dossier, "withdraw", "", "withdrawn")
	tm.move(commission, &cities[3].Dossier, "endorse", "", "endorsed")
}

// What the server stored survives a restart: the same token signs in (the
// database keeps only its hash), dossiers, versions and histories are
// byte for byte what they were.
func TestAPI_Restart_KeepsSessionsDossiersAndHistory(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	commission := tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody("persist"), nil)
	nantes := tm.newCity("Nantes", "FR", "Music")
	tm.submitDossier(nantes, "persist")
	tm.move(commission, &nantes.Dossier, "endorse", "", "endorsed")
	metz := tm.newCity("Metz", "FR", "Design")
	tm.startDossier(metz, "persist")
	tm.MustDo(200, "PUT", "/api/v1/applications/"+metz.Dossier.ID, metz.Token, completeDraft(1, "Metz"), &metz.Dossier)

	reads := []struct{ path, token string }{
		{"/api/v1/applications/" + nantes.Dossier.ID, nantes.Token},
		{"/api/v1/applications/" + nantes.Dossier.ID + "/history", secretariat},
		{"/api/v1/applications/" + metz.Dossier.ID, metz.Token},
		{"/api/v1/applications/" + metz.Dossier.ID + "/history", metz.Token},
		{"/api/v1/applications?limit=10", commission},
		{"/api/v1/calls/persist", ""},
	}
	before := make([][]byte, len(reads))
	for i, r := range reads {
		before[i] = tm.Raw(r.path, r.token)
	}

	tm.Restart()
	for i, r := range reads {
		tm.MustUnchanged(r.path, r.token, before[i])
	}
	raw, err := os.ReadFile(dbFile(tm.Config.Data))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{secretariat, commission, nantes.Token, metz.Token} {
		if bytes.Contains(raw, []byte(tok)) {
			t.Fatalf("the database file holds a bearer token in clear")
		}
	}
	// The dossier goes on from where it was.
	if d := tm.dossier(metz.Dossier.ID, metz.Token); d.Version != 2 || d.Sections["vision"] == "" {
		t.Fatalf("Metz after restart: %+v", d)
	}
	tm.move(metz.Token, &metz.Dossier, "submit", "", "submitted")
	h := tm.history(metz.Dossier.ID, metz.Token)
	if len(h) != 2 || h[1].Seq != 2 || h[1].Event != "submit" || h[1].From != "draft" {
		t.Fatalf("Metz's history after restart and submit: %+v", h)
	}
}

// Signing in and out: the answer's shape, the token that stops working at
// logout or when the session ends, and the same refusal for an unknown
// e-mail and a wrong password.
func TestAPI_LoginLogout(t *testing.T) {
	tm := MustRunMain(t, false)
	tm.MustUser("rennes@example.org", engine.RoleApplicant, "FR", "Rennes")
	var res struct {
		Token string `json:"token"`
		User  struct {
			ID, Email, Role, Country, City string
		} `json:"user"`
	}
	tm.MustDo(200, "POST", "/api/v1/login", "", map[string]string{"email": "Rennes@Example.org", "password": testPassword}, &res)
	if res.Token == "" || res.User.ID == "" || res.User.Email != "rennes@example.org" || res.User.Role != "applicant" ||
		res.User.Country != "FR" || res.User.City != "Rennes" {
		t.Fatalf("login answer %+v", res)
	}
	if bytes.Contains(tm.Raw("/api/v1/calls", ""), []byte("password")) {
		t.Fatal("a public answer mentions a password")
	}
	wrong := tm.MustFail(401, "unauthorized", "POST", "/api/v1/login", "", map[string]string{"email": "rennes@example.org", "password": "not the password"})
	unknown := tm.MustFail(401, "unauthorized", "POST", "/api/v1/login", "", map[string]string{"email": "nobody@example.org", "password": "not the password"})
	if wrong.Error.Message != unknown.Error.Message {
		t.Errorf("a wrong password (%q) and an unknown e-mail (%q) are told apart", wrong.Error.Message, unknown.Error.Message)
	}

	tm.MustDo(200, "GET", "/api/v1/applications", res.Token, nil, nil)
	other := tm.MustLogin("rennes@example.org", testPassword)
	r := tm.MustSend("POST", "/api/v1/logout", res.Token, nil)
	if r.Status != 204 || len(r.Body) != 0 {
		t.Fatalf("logout: %d %q, want 204 and no body", r.Status, r.Body)
	}
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/applications", res.Token, nil)
	tm.MustFail(401, "unauthorized", "POST", "/api/v1/logout", res.Token, nil)
	tm.MustFail(401, "unauthorized", "POST", "/api/v1/logout", "", nil)
	// Logging out ends one session, not the account's others.
	tm.MustDo(200, "GET", "/api/v1/applications", other, nil, nil)
	// A session ends by itself after session_ttl.
	tm.Advance(testStart.Add(tm.Config.SessionTTL))
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/applications", other, nil)
}

// GET /healthz answers while the store does.
func TestAPI_Healthz(t *testing.T) {
	tm := MustRunMain(t, false)
	var h struct{ Status string }
	tm.MustDo(200, "GET", "/healthz", "", nil, &h)
	if h.Status != "ok" {
		t.Fatalf("healthz %+v", h)
	}
}
