package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The demo clock, as the people trying a demo server use it: the secretariat
// opens /demo/clock, picks a phase and jumps just past it; the deadlines it
// passes act before the page answers, every page says what time it is on
// the server, nobody is signed out, the clock never goes back, and it stays
// where it was put across a restart. On a server on the real clock none of
// it exists.

// dcCall is the demo call's id (config.yaml).
const dcCall = "uccn-2027"

// dcPhases are the names the demo clock page gives the phases (English).
const (
	dcPhaseDeadline     = "Submission deadline"
	dcPhaseClose        = "Enforced close (deadline + grace)"
	dcPhaseEndorsement  = "Endorsement deadline"
	dcPhaseEvaluation   = "Evaluation deadline"
	dcPhaseAnnouncement = "Announcement"
)

// dcLogin signs a demo account in with the password the first start saved
// in <data>/demo-accounts.txt, as a person trying the demo does.
func dcLogin(t *testing.T, tm *TestMain, email string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(tm.Config.Data, demoAccountsFile))
	if err != nil {
		t.Fatal(err)
	}
	return tm.MustLogin(email, demoPassword(t, string(raw), email))
}

// dcForm is a form of a page, as a browser would submit it.
type dcForm struct {
	Method, Action string
	// Values are the inputs' and text areas' names and values.
	Values url.Values
	// Text is what the form shows, tags left out (its buttons' labels).
	Text string
}

var (
	dcFormRe     = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	dcInputRe    = regexp.MustCompile(`<input\b([^>]*)>`)
	dcTextareaRe = regexp.MustCompile(`(?s)<textarea\b([^>]*)>(.*?)</textarea>`)
	dcAttrRe     = regexp.MustCompile(`([a-zA-Z-]+)="([^"]*)"`)
	dcTagRe      = regexp.MustCompile(`(?s)<[^>]*>`)
	dcSpaceRe    = regexp.MustCompile(`\s+`)
	dcBannerRe   = regexp.MustCompile(`(?s)<p class="demo-banner">(.*?)</p>`)
	dcSummaryRe  = regexp.MustCompile(`(?s)<div class="error" role="alert" id="error-summary">(.*?)</div>`)
)

// dcAttrs are a tag's attributes, unescaped.
func dcAttrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range dcAttrRe.FindAllStringSubmatch(s, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

// dcText is what a reader sees of some HTML: no tags, entities decoded,
// white space collapsed.
func dcText(s string) string {
	return strings.TrimSpace(dcSpaceRe.ReplaceAllString(html.UnescapeString(dcTagRe.ReplaceAllString(s, " ")), " "))
}

// dcForms are the page's forms.
func dcForms(body []byte) []dcForm {
	var forms []dcForm
	for _, m := range dcFormRe.FindAllStringSubmatch(string(body), -1) {
		attrs := dcAttrs(m[1])
		f := dcForm{Method: strings.ToUpper(attrs["method"]), Action: attrs["action"], Values: url.Values{}, Text: dcText(m[2])}
		for _, in := range dcInputRe.FindAllStringSubmatch(m[2], -1) {
			a := dcAttrs(in[1])
			if a["name"] != "" && a["type"] != "file" {
				f.Values.Add(a["name"], a["value"])
			}
		}
		for _, ta := range dcTextareaRe.FindAllStringSubmatch(m[2], -1) {
			if a := dcAttrs(ta[1]); a["name"] != "" {
				f.Values.Add(a["name"], html.UnescapeString(ta[2]))
			}
		}
		forms = append(forms, f)
	}
	return forms
}

// dcFindForm is the one form of the page posting to action whose inputs
// hold want (and whose text contains label, when not ""); the test fails if
// there is not exactly one.
func dcFindForm(t *testing.T, body []byte, action string, want url.Values, label string) dcForm {
	t.Helper()
	var found []dcForm
	for _, f := range dcForms(body) {
		if f.Method != "POST" || f.Action != action || !strings.Contains(f.Text, label) {
			continue
		}
		ok := true
		for k := range want {
			if f.Values.Get(k) != want.Get(k) {
				ok = false
			}
		}
		if ok {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d forms posting to %s with %v and %q, want 1; the page's forms: %+v", len(found), action, want, label, dcForms(body))
	}
	return found[0]
}

// dcSubmit posts the form as a browser would, with what the person typed
// (set) over what the form holds.
func dcSubmit(t *testing.T, tm *TestMain, token string, f dcForm, set url.Values) *Response {
	t.Helper()
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = slices.Clone(vs)
	}
	for k, vs := range set {
		v[k] = vs
	}
	return pageSend(t, tm, "POST", f.Action, token, v, nil)
}

// dcGet is a page the holder of token opens, which must answer 200.
func dcGet(t *testing.T, tm *TestMain, path, token string) []byte {
	t.Helper()
	r := pageSend(t, tm, "GET", path, token, nil, nil)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d, want 200; Location %q", path, r.Status, r.Header.Get("Location"))
	}
	return r.Body
}

// dcWhen is an instant as the banner and the demo clock page write it.
func dcWhen(at time.Time) string { return at.UTC().Format("2 January 2006, 15:04 (MST)") }

// dcBanner is the text of the page's demo banner, and whether it has one.
func dcBanner(body []byte) (string, bool) {
	m := dcBannerRe.FindSubmatch(body)
	if m == nil {
		return "", false
	}
	return dcText(string(m[1])), true
}

// dcMustBanner fails unless the page's banner says the server's time is at.
func dcMustBanner(t *testing.T, what string, body []byte, at time.Time) {
	t.Helper()
	got, ok := dcBanner(body)
	want := "Demo server: its clock may run ahead of the real one. It is now " + dcWhen(at) + " here."
	if !ok || got != want {
		t.Fatalf("%s: demo banner %q (present %v), want %q", what, got, ok, want)
	}
}

// dcTarget is a jump the demo clock page offers.
type dcTarget struct {
	Phase string
	To    time.Time
	Form  dcForm
}

// dcTargets are the jumps /demo/clock offers the holder of token, in the
// page's order.
func dcTargets(t *testing.T, tm *TestMain, token string) ([]dcTarget, []byte) {
	t.Helper()
	body := dcGet(t, tm, "/demo/clock", token)
	var out []dcTarget
	for _, f := range dcForms(body) {
		if f.Action != "/demo/clock" {
			continue
		}
		if f.Method != "POST" {
			t.Fatalf("a jump form with method %q", f.Method)
		}
		_, phase, ok := strings.Cut(f.Text, "Jump to just after")
		phase = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(phase), ":"))
		if !ok || phase == "" {
			t.Fatalf("jump form %+v names no phase", f)
		}
		to, err := time.Parse(time.RFC3339, f.Values.Get("to"))
		if err != nil {
			t.Fatalf("jump form %+v: to is not RFC 3339: %v", f, err)
		}
		out = append(out, dcTarget{Phase: phase, To: to, Form: f})
	}
	return out, body
}

// dcJump is the secretariat clicking "Jump to just after" the phase on
// /demo/clock: it must be sent back to the page with the notice, and the
// server's clock must then be at the form's instant. It returns it.
func dcJump(t *testing.T, tm *TestMain, token, phase string) time.Time {
	t.Helper()
	targets, _ := dcTargets(t, tm, token)
	for _, tg := range targets {
		if tg.Phase != phase {
			continue
		}
		r := dcSubmit(t, tm, token, tg.Form, nil)
		if r.Status != 303 || r.Header.Get("Location") != "/demo/clock?notice=jumped" {
			t.Fatalf("jump past %s: %d to %q, want 303 to /demo/clock?notice=jumped; body %s", phase, r.Status, r.Header.Get("Location"), r.Body)
		}
		if now := tm.Service.Now(); !now.Equal(tg.To) {
			t.Fatalf("after the jump past %s the server's clock is %v, want %v", phase, now, tg.To)
		}
		back := dcGet(t, tm, "/demo/clock?notice=jumped", token)
		if !strings.Contains(dcText(string(back)), "The clock has moved; the deadlines it passed have acted.") {
			t.Errorf("the page after the jump says nothing of it")
		}
		dcMustBanner(t, "/demo/clock after the jump", back, tg.To)
		return tg.To
	}
	t.Fatalf("/demo/clock offers no jump past %q: %+v", phase, targets)
	return time.Time{}
}

// dcDossiers is every dossier of the demo call, drafts included, as the
// engine holds them, by id.
func dcDossiers(t *testing.T, tm *TestMain) map[string]*engine.Summary {
	t.Helper()
	all := map[string]*engine.Summary{}
	q := engine.Query{Call: dcCall, Limit: engine.MaxPageSize}
	for {
		page, err := tm.Service.Applications(context.Background(), engine.System, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Items {
			all[a.ID] = a
		}
		if page.NextCursor == "" {
			return all
		}
		q.After = page.NextCursor
	}
}

// dcMove is a person clicking a move on a page: the move's button (which
// asks for confirmation), then "confirm". It returns where the server sent
// the browser.
func dcMove(t *testing.T, tm *TestMain, token, page, id, event string) string {
	t.Helper()
	ask := dcFindForm(t, dcGet(t, tm, page, token), "/dossiers/"+id+"/confirm", url.Values{"event": {event}}, "")
	r := dcSubmit(t, tm, token, ask, nil)
	if r.Status != 200 {
		t.Fatalf("%s on %s from %s: the confirmation page answers %d; body %s", event, id, page, r.Status, r.Body)
	}
	confirm := dcFindForm(t, r.Body, "/dossiers/"+id+"/move", url.Values{"event": {event}}, "")
	r = dcSubmit(t, tm, token, confirm, nil)
	if r.Status != 303 {
		t.Fatalf("%s on %s confirmed: %d, want 303; body %s", event, id, r.Status, r.Body)
	}
	return r.Header.Get("Location")
}

// dcMustRefuseJump posts to as the secretariat's jump and checks what the
// secretariat sees (400, the message tied to the field "to") and that
// nothing moved: not the database, not the clock, not its saved offset.
func dcMustRefuseJump(t *testing.T, tm *TestMain, token, to, message, fieldMessage string) {
	t.Helper()
	clockFile := filepath.Join(tm.Config.Data, demoClockFile)
	savedBefore, errBefore := os.ReadFile(clockFile)
	now := tm.Service.Now()
	before := dumpDB(t, tm)
	r := pageSend(t, tm, "POST", "/demo/clock", token, url.Values{"to": {to}}, nil)
	if r.Status != 400 {
		t.Fatalf("jump to %q: %d, want 400; Location %q", to, r.Status, r.Header.Get("Location"))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("jump to %q: refused as %q, want a page", to, ct)
	}
	m := dcSummaryRe.FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("jump to %q: the page has no error summary; body %s", to, r.Body)
	}
	summary := string(m[1])
	if !strings.Contains(dcText(summary), message) {
		t.Errorf("jump to %q: error summary %q, want %q", to, dcText(summary), message)
	}
	link := regexp.MustCompile(`<a href="#f-to">([^<]*)</a>`).FindStringSubmatch(summary)
	if link == nil || html.UnescapeString(link[1]) != fieldMessage {
		t.Errorf("jump to %q: error summary %q, want the field to's message %q linked to it", to, summary, fieldMessage)
	}
	if diff := diffDB(before, dumpDB(t, tm)); len(diff) > 0 {
		t.Errorf("refused jump to %q changed the database:\n%s", to, strings.Join(diff, "\n"))
	}
	if got := tm.Service.Now(); !got.Equal(now) {
		t.Errorf("refused jump to %q moved the clock from %v to %v", to, now, got)
	}
	savedAfter, errAfter := os.ReadFile(clockFile)
	if !bytes.Equal(savedBefore, savedAfter) || (errBefore == nil) != (errAfter == nil) {
		t.Errorf("refused jump to %q changed %s: %q (%v) -> %q (%v)", to, clockFile, savedBefore, errBefore, savedAfter, errAfter)
	}
	dcMustBanner(t, "the refusal", r.Body, now)
}

// On a demo server the secretariat's /demo/clock lists the call's phases to
// come; a click past the enforced close moves the clock, and before the
// page answers the drafts nobody submitted have lapsed (the scheduler, on
// a clock the test does not move, cannot have done it) while the submitted
// dossiers are as they were. Every page then shows the new time; nobody is
// signed out. The clock refuses to go back or stand still, and a malformed
// instant, changing nothing. The jump is in the audit log. Only the staff
// may open the page.
func TestDemoClock_JumpPastTheCloseLapsesDraftsAtOnce_NeverBack_Audited(t *testing.T) {
	tm := MustRunMainConfig(t, ConfigForTest(t, t.TempDir(), true), engine.NewManualClock(testStart))
	if !tm.Service.TimeTravelEnabled() {
		t.Fatal("config.yaml's demo with time_travel: the server is not on a demo clock")
	}
	clockFile := filepath.Join(tm.Config.Data, demoClockFile)
	sec := dcLogin(t, tm, "secretariat@example.org")
	admin := dcLogin(t, tm, "admin@example.org")
	covilha := dcLogin(t, tm, "covilha@example.org")
	rouen := dcLogin(t, tm, "rouen@example.org")
	commission := dcLogin(t, tm, "commission-fr@example.org")

	var call engine.Call
	tm.MustDo(200, "GET", "/api/v1/calls/"+dcCall, "", nil, &call)
	if call.State != engine.CallOpen {
		t.Fatalf("the demo call is %s, want open", call.State)
	}

	// Who may: the public is sent to sign in, a city and a commission are
	// refused, on the page and on its form alike, and nothing moves.
	for _, who := range []struct {
		name, token string
		status      int
	}{{"the public", "", 303}, {"Rouen", rouen, 403}, {"the French commission", commission, 403}} {
		before := dumpDB(t, tm)
		for _, method := range []string{"GET", "POST"} {
			var form url.Values
			if method == "POST" {
				form = url.Values{"to": {call.AnnouncementAt.Add(time.Second).Format(time.RFC3339)}}
			}
			r := pageSend(t, tm, method, "/demo/clock", who.token, form, nil)
			if r.Status != who.status {
				t.Errorf("%s /demo/clock as %s: %d, want %d", method, who.name, r.Status, who.status)
			}
			if who.status == 303 && r.Header.Get("Location") != "/login?next=%2Fdemo%2Fclock" {
				t.Errorf("%s /demo/clock as %s: sent to %q, want the sign-in page and back", method, who.name, r.Header.Get("Location"))
			}
			if who.status == 403 {
				if !strings.Contains(dcText(string(r.Body)), "Only the secretariat") {
					t.Errorf("%s /demo/clock as %s: the refusal does not say why", method, who.name)
				}
				dcMustBanner(t, "a refusal", r.Body, testStart)
			}
		}
		if diff := diffDB(before, dumpDB(t, tm)); len(diff) > 0 {
			t.Errorf("/demo/clock refused to %s but changed the database:\n%s", who.name, strings.Join(diff, "\n"))
		}
		if now := tm.Service.Now(); !now.Equal(testStart) {
			t.Fatalf("refused to %s, the clock moved to %v", who.name, now)
		}
	}
	if _, err := os.Stat(clockFile); !os.IsNotExist(err) {
		t.Errorf("%s before any jump: %v, want none", clockFile, err)
	}

	// Every page of a demo server says so and gives its time, to everyone;
	// only the staff's pages lead to the demo clock.
	for _, p := range []struct{ who, path, token string }{{"the public", "/", ""}, {"Covilhã", "/city", covilha}, {"the secretariat", "/board", sec}} {
		body := dcGet(t, tm, p.path, p.token)
		dcMustBanner(t, p.path+" for "+p.who, body, testStart)
		if staffLink := strings.Contains(string(body), `href="/demo/clock"`); staffLink != (p.token == sec) {
			t.Errorf("%s for %s: a link to the demo clock %v", p.path, p.who, staffLink)
		}
	}

	// The page: the time, and a jump just past each phase to come.
	targets, page := dcTargets(t, tm, sec)
	dcMustBanner(t, "/demo/clock", page, testStart)
	if text := dcText(string(page)); !strings.Contains(text, "On this server it is now "+dcWhen(testStart)+".") {
		t.Errorf("/demo/clock does not give the server's time %q", dcWhen(testStart))
	}
	want := []struct {
		phase string
		at    time.Time
	}{
		{dcPhaseDeadline, call.SubmissionDeadline},
		{dcPhaseClose, call.Close()},
		{dcPhaseEndorsement, call.EndorsementDeadline},
		{dcPhaseEvaluation, call.EvaluationDeadline},
		{dcPhaseAnnouncement, call.AnnouncementAt},
	}
	if len(targets) != len(want) {
		t.Fatalf("/demo/clock offers %d jumps %+v, want the %d phases to come (the opening has passed)", len(targets), targets, len(want))
	}
	text := dcText(string(page))
	for i, w := range want {
		if targets[i].Phase != w.phase || !targets[i].To.Equal(w.at.Add(time.Second)) {
			t.Errorf("jump %d: %q to %v, want %q to %v (a second after the phase)", i, targets[i].Phase, targets[i].To, w.phase, w.at.Add(time.Second))
		}
		if when := w.at.In(paris).Format("2 January 2006, 15:04 (MST)"); !strings.Contains(text, w.phase+" "+when) {
			t.Errorf("/demo/clock does not show %s on %s, in the call's time zone", w.phase, when)
		}
	}

	// The jump past the enforced close.
	before := dcDossiers(t, tm)
	drafts := 0
	for _, a := range before {
		if a.SubmittedAt == nil {
			drafts++
			if a.State != engine.Draft {
				t.Fatalf("demo dossier of %s: never submitted but %s", a.City, a.State)
			}
		}
	}
	if drafts < 2 || drafts == len(before) {
		t.Fatalf("the demo has %d drafts among %d dossiers: not a test of the close", drafts, len(before))
	}
	to := dcJump(t, tm, sec, dcPhaseClose)
	if !to.Equal(call.Close().Add(time.Second)) {
		t.Fatalf("jumped to %v, want a second past the close %v", to, call.Close())
	}
	after := dcDossiers(t, tm)
	if len(after) != len(before) {
		t.Fatalf("%d dossiers after the jump, %d before", len(after), len(before))
	}
	for id, b := range before {
		a := after[id]
		if b.SubmittedAt == nil {
			if a.State != engine.Lapsed || a.Version != b.Version+1 {
				t.Errorf("the draft of %s right after the jump: %s v%d, want lapsed v%d", b.City, a.State, a.Version, b.Version+1)
			}
			continue
		}
		if x, y := jsonOf(t, b), jsonOf(t, a); !bytes.Equal(x, y) {
			t.Errorf("the submitted dossier of %s changed with the jump:\nbefore %s\nafter  %s", b.City, x, y)
		}
	}
	tm.MustDo(200, "GET", "/api/v1/calls/"+dcCall, "", nil, &call)
	if call.State != engine.CallClosed {
		t.Errorf("the call after the jump past its close: %s, want closed", call.State)
	}

	// Nobody was signed out by six weeks passing on the server: the tokens
	// of the secretariat and of the cities still work, on the API and the
	// pages, and they show the new time.
	for _, who := range []struct{ name, token, page string }{{"the secretariat", sec, "/board"}, {"Covilhã", covilha, "/city"}, {"Rouen", rouen, "/city"}} {
		tm.MustDo(200, "GET", "/api/v1/me", who.token, nil, nil)
		dcMustBanner(t, who.page+" for "+who.name+" after the jump", dcGet(t, tm, who.page, who.token), to)
	}
	// What the cities see: Covilhã's draft lapsed at the new instant, by
	// the system; Rouen's submitted dossier did not move.
	var mine Page
	tm.MustDo(200, "GET", "/api/v1/applications", covilha, nil, &mine)
	if len(mine.Items) != 1 || mine.Items[0].State != "lapsed" {
		t.Fatalf("Covilhã sees %+v, want its lapsed draft", mine.Items)
	}
	h := tm.history(mine.Items[0].ID, covilha)
	if last := h[len(h)-1]; last.Event != "lapse" || last.Role != "system" || last.To != "lapsed" || !last.At.Equal(to) {
		t.Errorf("Covilhã's last history event %+v, want a lapse by the system at %v", last, to)
	}
	tm.MustDo(200, "GET", "/api/v1/applications", rouen, nil, &mine)
	if len(mine.Items) != 1 || mine.Items[0].State != "submitted" {
		t.Errorf("Rouen sees %+v, want its dossier still submitted", mine.Items)
	}
	// The later phases are what remains to jump to.
	targets, _ = dcTargets(t, tm, sec)
	var left []string
	for _, tg := range targets {
		left = append(left, tg.Phase)
	}
	if !slices.Equal(left, []string{dcPhaseEndorsement, dcPhaseEvaluation, dcPhaseAnnouncement}) {
		t.Errorf("after the close /demo/clock offers %v", left)
	}
	saved, err := os.ReadFile(clockFile)
	if err != nil {
		t.Fatalf("the jump was not saved: %v", err)
	}

	// Back, or to the same instant, or to no instant at all: refused,
	// nothing changed.
	const back, notInstant = "must be later than the clock's time", "must be an RFC 3339 instant"
	dcMustRefuseJump(t, tm, sec, to.Format(time.RFC3339), "The demo clock only moves forward.", back)
	dcMustRefuseJump(t, tm, sec, to.In(paris).Format(time.RFC3339), "The demo clock only moves forward.", back)
	dcMustRefuseJump(t, tm, sec, to.Add(-time.Second).Format(time.RFC3339), "The demo clock only moves forward.", back)
	dcMustRefuseJump(t, tm, sec, call.OpensAt.Format(time.RFC3339), "The demo clock only moves forward.", back)
	for _, bad := range []string{"", "next week", "2027-06-01", "2027-06-01 10:00:00", "2027-06-01T10:00:00", "2027-06-31T10:00:00Z", strings.Repeat("9", 200)} {
		dcMustRefuseJump(t, tm, sec, bad, "Bad instant.", notInstant)
	}
	if again, _ := os.ReadFile(clockFile); !bytes.Equal(again, saved) {
		t.Errorf("%s after the refusals: %q, want %q", clockFile, again, saved)
	}

	// The audit log has the jump, by the secretariat, at the instant it
	// jumped to; the refused ones are not jumps.
	var jumps []engine.AuditEvent
	for _, ev := range readAudit(t, tm, admin, 100) {
		if ev.Action == engine.AuditTimeTravel {
			jumps = append(jumps, ev)
		}
	}
	if len(jumps) != 1 || jumps[0].Actor != "secretariat@example.org" || jumps[0].Role != engine.RoleSecretariat || !jumps[0].At.Equal(to) {
		t.Errorf("time_travel audit events %+v, want one by secretariat@example.org (secretariat) at %v", jumps, to)
	}

	// Sessions keep to the wall clock: two idle hours of it (session_idle)
	// still end them, the jump notwithstanding.
	tm.Advance(testStart.Add(tm.Config.SessionIdle + time.Minute))
	tm.MustFail(401, "unauthorized", "GET", "/api/v1/me", sec, nil)
	if r := pageSend(t, tm, "GET", "/demo/clock", sec, nil, nil); r.Status != 401 {
		t.Errorf("/demo/clock with the ended session's token: %d, want 401", r.Status)
	}
	if now := tm.Service.Now(); !now.Equal(to.Add(tm.Config.SessionIdle + time.Minute)) {
		t.Errorf("the demo clock after the wall clock ran on: %v, want the jump's instant plus as much", now)
	}
}

// The jump is saved in <data>/demo-clock.txt before it takes effect, and a
// restart takes the clock up where it was: no deadline that acted is ever
// ahead again. A file that is not an offset stops the start, naming it,
// and leaves the data as it was; put right, the server starts. With
// time_travel off the same data runs on the real clock, without the page.
func TestDemoClock_OffsetSurvivesRestart_CorruptFileStopsTheStart(t *testing.T) {
	tm := MustRunMainConfig(t, ConfigForTest(t, t.TempDir(), true), engine.NewManualClock(testStart))
	clockFile := filepath.Join(tm.Config.Data, demoClockFile)
	sec := dcLogin(t, tm, "secretariat@example.org")

	to := dcJump(t, tm, sec, dcPhaseEndorsement)
	raw, err := os.ReadFile(clockFile)
	if err != nil {
		t.Fatal(err)
	}
	offset, err := time.ParseDuration(strings.TrimSpace(string(raw)))
	if err != nil || !testStart.Add(offset).Equal(to) {
		t.Fatalf("%s holds %q (%v), want the offset %v", clockFile, raw, err, to.Sub(testStart))
	}
	entries, err := os.ReadDir(tm.Config.Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("the save left %s in the data directory", e.Name())
		}
	}
	var call engine.Call
	tm.MustDo(200, "GET", "/api/v1/calls/"+dcCall, "", nil, &call)
	if call.State != engine.CallEvaluation {
		t.Fatalf("the call past its endorsement deadline: %s, want evaluation", call.State)
	}

	tm.Restart()
	if now := tm.Service.Now(); now.Before(to) {
		t.Fatalf("after a restart the clock is at %v, before the jump's %v", now, to)
	}
	if !tm.Service.TimeTravelEnabled() {
		t.Fatal("after a restart the server is not on the demo clock")
	}
	sec = dcLogin(t, tm, "secretariat@example.org")
	dcMustBanner(t, "/ after a restart", dcGet(t, tm, "/", ""), to)
	targets, _ := dcTargets(t, tm, sec)
	var left []string
	for _, tg := range targets {
		left = append(left, tg.Phase)
	}
	if !slices.Equal(left, []string{dcPhaseEvaluation, dcPhaseAnnouncement}) {
		t.Errorf("after a restart /demo/clock offers %v", left)
	}
	dcMustRefuseJump(t, tm, sec, to.Add(-time.Second).Format(time.RFC3339), "The demo clock only moves forward.", "must be later than the clock's time")
	tm.MustDo(200, "GET", "/api/v1/calls/"+dcCall, "", nil, &call)
	if call.State != engine.CallEvaluation {
		t.Errorf("the call after a restart: %s, want evaluation", call.State)
	}
	// The saved offset keeps running with the wall clock.
	tm.Advance(testStart.Add(time.Hour))
	if now := tm.Service.Now(); !now.Equal(to.Add(time.Hour)) {
		t.Errorf("an hour of wall clock after the restart the demo clock is at %v, want %v", now, to.Add(time.Hour))
	}

	// A jump that cannot be saved is refused and does not happen: else a
	// restart would turn the clock back past deadlines that acted.
	if err := os.Remove(clockFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(clockFile, 0o700); err != nil { // a rename over it fails
		t.Fatal(err)
	}
	targets, _ = dcTargets(t, tm, sec)
	now, before := tm.Service.Now(), dumpDB(t, tm)
	if r := dcSubmit(t, tm, sec, targets[0].Form, nil); r.Status != 500 {
		t.Errorf("a jump that cannot be saved: %d, want 500; Location %q", r.Status, r.Header.Get("Location"))
	}
	if got := tm.Service.Now(); !got.Equal(now) {
		t.Errorf("a jump that could not be saved moved the clock from %v to %v", now, got)
	}
	if diff := diffDB(before, dumpDB(t, tm)); len(diff) > 0 {
		t.Errorf("a jump that could not be saved changed the database:\n%s", strings.Join(diff, "\n"))
	}
	if err := os.Remove(clockFile); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clockFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	// A demo-clock.txt that holds no offset: the server does not start,
	// and says which file is wrong.
	tm.Stop()
	const corrupt = "six weeks\n"
	if err := os.WriteFile(clockFile, []byte(corrupt), 0o600); err != nil {
		t.Fatal(err)
	}
	m := NewMain()
	m.Config, m.Clock, m.Out, m.PasswordCost = tm.Main.Config, tm.Clock, &bytes.Buffer{}, 4
	err = m.Run(context.Background())
	if err == nil {
		m.Close()
		t.Fatalf("the server started with %q in %s", corrupt, clockFile)
	}
	if !strings.Contains(err.Error(), clockFile) {
		t.Errorf("the start failed with %q, which does not name %s", err, clockFile)
	}
	if got, _ := os.ReadFile(clockFile); string(got) != corrupt {
		t.Errorf("the failed start rewrote %s: %q", clockFile, got)
	}
	// Put right, the same data starts again (the failed start let go of the
	// database) at the saved time.
	if err := os.WriteFile(clockFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	tm.Restart()
	if now := tm.Service.Now(); !now.Equal(to.Add(time.Hour)) {
		t.Errorf("restarted with the offset put back, the clock is at %v, want %v", now, to.Add(time.Hour))
	}

	// time_travel off: the real clock, no page, no banner; the saved
	// offset is kept for when it is on again.
	tm.Main.Config.Demo.TimeTravel = false
	tm.Restart()
	if tm.Service.TimeTravelEnabled() {
		t.Error("with time_travel off the server is on a demo clock")
	}
	sec = dcLogin(t, tm, "secretariat@example.org")
	if r := pageSend(t, tm, "GET", "/demo/clock", sec, nil, nil); r.Status != 404 {
		t.Errorf("GET /demo/clock with time_travel off: %d, want 404", r.Status)
	}
	if _, ok := dcBanner(dcGet(t, tm, "/", "")); ok {
		t.Error("with time_travel off the home page has a demo banner")
	}
	if got, _ := os.ReadFile(clockFile); !bytes.Equal(got, raw) {
		t.Errorf("with time_travel off %s became %q", clockFile, got)
	}
	tm.Main.Config.Demo.TimeTravel = true
	tm.Restart()
	if now := tm.Service.Now(); !now.Equal(to.Add(time.Hour)) {
		t.Errorf("time_travel on again, the clock is at %v, want %v", now, to.Add(time.Hour))
	}
}

// On a server without the demo the clock is the real one: the secretariat
// gets 404 for the page and its form, which change nothing and save no
// offset, the others are turned away as on a demo server, and no page has
// a demo banner or a link to the demo clock.
func TestDemoClock_AbsentWithoutTheDemo(t *testing.T) {
	tm := MustRunMain(t, false)
	if tm.Service.TimeTravelEnabled() {
		t.Fatal("a server without the demo is on a demo clock")
	}
	sec := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	lyon := tm.MustUser("lyon@example.org", engine.RoleApplicant, "FR", "Lyon")
	commission := tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	tm.MustDo(201, "POST", "/api/v1/calls", sec, callBody("real"), nil)

	jump := url.Values{"to": {callAnnounce.Add(time.Second).Format(time.RFC3339)}}
	for _, who := range []struct {
		name, token string
		status      int
	}{{"the secretariat", sec, 404}, {"Lyon", lyon, 403}, {"the commission", commission, 403}, {"the public", "", 303}} {
		for _, method := range []string{"GET", "POST"} {
			var form url.Values
			if method == "POST" {
				form = jump
			}
			before := dumpDB(t, tm)
			r := pageSend(t, tm, method, "/demo/clock", who.token, form, nil)
			if r.Status != who.status {
				t.Errorf("%s /demo/clock as %s: %d, want %d", method, who.name, r.Status, who.status)
			}
			if who.status == 404 && !strings.Contains(dcText(string(r.Body)), "This server runs on the real clock") {
				t.Errorf("%s /demo/clock as %s: the 404 does not say why", method, who.name)
			}
			if _, ok := dcBanner(r.Body); ok {
				t.Errorf("%s /demo/clock as %s: a demo banner", method, who.name)
			}
			if diff := diffDB(before, dumpDB(t, tm)); len(diff) > 0 {
				t.Errorf("%s /demo/clock as %s changed the database:\n%s", method, who.name, strings.Join(diff, "\n"))
			}
		}
	}
	if now := tm.Service.Now(); !now.Equal(testStart) {
		t.Errorf("the clock moved to %v", now)
	}
	if _, err := os.Stat(filepath.Join(tm.Config.Data, demoClockFile)); !os.IsNotExist(err) {
		t.Errorf("%s on a server without the demo: %v", demoClockFile, err)
	}
	for _, p := range []struct {
		who, path, token string
		status           int
	}{
		{"the public", "/", "", 200}, {"the public", "/help", "", 200}, {"the public", "/login", "", 200},
		{"the public", "/calls/real/results", "", 404}, {"the secretariat", "/board", sec, 200},
		{"the secretariat", "/help", sec, 200}, {"Lyon", "/city", lyon, 200}, {"the commission", "/commission", commission, 200},
	} {
		r := pageSend(t, tm, "GET", p.path, p.token, nil, nil)
		if r.Status != p.status {
			t.Errorf("GET %s as %s: %d, want %d", p.path, p.who, r.Status, p.status)
		}
		if strings.Contains(string(r.Body), "demo-banner") || strings.Contains(string(r.Body), `href="/demo/clock"`) {
			t.Errorf("GET %s as %s on the real clock: a demo banner or a link to the demo clock", p.path, p.who)
		}
	}
}

// A whole call in minutes, clicked through as the people trying the demo
// would: the French commission endorses Rouen's submitted dossier from its
// page; the secretariat jumps past the enforced close, accepts it, starts
// its evaluation and recommends it from the dossier's page, and jumps past
// the announcement. Rouen is designated, and the public results list it.
func TestDemoClock_WholeCallClickedThroughInMinutes(t *testing.T) {
	tm := MustRunMainConfig(t, ConfigForTest(t, t.TempDir(), true), engine.NewManualClock(testStart))
	sec := dcLogin(t, tm, "secretariat@example.org")
	commission := dcLogin(t, tm, "commission-fr@example.org")
	rouen := dcLogin(t, tm, "rouen@example.org")

	// The commission's page lists Rouen's dossier with an endorse button.
	page := dcGet(t, tm, "/commission", commission)
	m := regexp.MustCompile(`<a href="/dossiers/([^"]+)">Rouen</a>`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("the French commission's page does not list Rouen")
	}
	id := string(m[1])
	if d := tm.dossier(id, rouen); d.State != "submitted" || d.City != "Rouen" {
		t.Fatalf("Rouen's demo dossier: %+v, want submitted", d)
	}
	if to := dcMove(t, tm, commission, "/commission", id, "endorse"); to != "/commission?notice=moved" {
		t.Errorf("endorsed from the commission's page, sent to %q", to)
	}
	if d := tm.dossier(id, rouen); d.State != "endorsed" {
		t.Fatalf("Rouen's dossier after the commission's endorsement: %s", d.State)
	}

	closed := dcJump(t, tm, sec, dcPhaseClose)
	board := dcGet(t, tm, "/board?call="+dcCall+"&q=Rouen", sec)
	if !strings.Contains(string(board), `<a href="/dossiers/`+id+`">Rouen</a>`) {
		t.Fatalf("the board's search for Rouen does not lead to its dossier")
	}
	for _, st := range []struct{ event, state string }{{"accept", "eligible"}, {"start_evaluation", "under_evaluation"}, {"recommend", "recommended"}} {
		if to := dcMove(t, tm, sec, "/dossiers/"+id, id, st.event); to != "/dossiers/"+id+"?notice=moved" {
			t.Errorf("%s from the dossier's page, sent to %q", st.event, to)
		}
		if d := tm.dossier(id, sec); d.State != st.state {
			t.Fatalf("Rouen's dossier after %s: %s, want %s", st.event, d.State, st.state)
		}
	}
	// The results are not out yet, for anybody.
	if r := pageSend(t, tm, "GET", "/calls/"+dcCall+"/results", "", nil, nil); r.Status != 404 {
		t.Fatalf("the results page before the announcement: %d, want 404", r.Status)
	}

	announced := dcJump(t, tm, sec, dcPhaseAnnouncement)
	if !announced.After(closed) {
		t.Fatalf("the announcement jump %v is not after the close jump %v", announced, closed)
	}
	var call engine.Call
	tm.MustDo(200, "GET", "/api/v1/calls/"+dcCall, "", nil, &call)
	if call.State != engine.CallAnnounced {
		t.Fatalf("the call after the jump past its announcement: %s, want announced", call.State)
	}
	if d := tm.dossier(id, rouen); d.State != "designated" {
		t.Fatalf("Rouen sees its dossier %s after the announcement, want designated", d.State)
	}
	// On the way, the endorsement deadline lapsed what no commission endorsed.
	if left := tm.listAll("call="+dcCall+"&state=submitted", sec); len(left) != 0 {
		t.Errorf("%d dossiers still submitted past the endorsement deadline", len(left))
	}
	targets, clock := dcTargets(t, tm, sec)
	if len(targets) != 0 || !strings.Contains(dcText(string(clock)), "Every phase of every call has passed.") {
		t.Errorf("after the announcement /demo/clock still offers %+v", targets)
	}

	// The public, signed in as nobody, reads the results.
	results := dcGet(t, tm, "/calls/"+dcCall+"/results", "")
	dcMustBanner(t, "the results", results, announced)
	gastronomy := regexp.MustCompile(`(?s)<h2 id="field-\d+">Gastronomy <span class="meta">\(\d+\)</span></h2>\s*<dl class="results">(.*?)</dl>`).FindSubmatch(results)
	if gastronomy == nil || !regexp.MustCompile(`<dt>FR</dt>(<dd>[^<]*</dd>)*<dd>Rouen</dd>`).Match(gastronomy[1]) {
		t.Errorf("the public results page does not list Rouen (FR) in Gastronomy:\n%s", results)
	}
	var res struct {
		Call  string `json:"call"`
		Items []struct{ City, Country, Field string }
	}
	r := tm.MustSend("GET", "/api/v1/calls/"+dcCall+"/results", "", nil)
	if r.Status != 200 {
		t.Fatalf("GET the results: %d; body %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &res); err != nil {
		t.Fatal(err)
	}
	var designated []string
	for _, it := range res.Items {
		designated = append(designated, it.City+"/"+it.Country+"/"+it.Field)
	}
	if !slices.Equal(designated, []string{"Rouen/FR/Gastronomy"}) {
		t.Errorf("the results %v, want Rouen alone (the only dossier recommended)", designated)
	}
}
