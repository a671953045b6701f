package main

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// A call's whole cycle after the cities, in a real browser against the real
// server: the National Commission endorses within its quota, is refused a
// second endorsement in the same field and declines with a reason; the
// secretariat reads its board, searches it, and takes the endorsed dossier
// through eligibility and evaluation once the clock has passed the close;
// at the announcement anybody reads the results. Then every kind of page,
// once per language, checked with axe-core. Every helper here starts with
// "cy", so that it cannot collide with the other browser tests' helpers;
// the bc* helpers come from browser_city_test.go.

// cyCallID is the call the cycle runs (callBody: no file slot, so an API
// submission needs only the contacts and the two required sections).
const cyCallID = "uccn-2027"

// The accounts of the cycle; MustUser gives each the password testPassword.
const (
	cyCommissionEmail  = "commission-fr@example.org"
	cySecretariatEmail = "secretariat@example.org"
)

// cyReasons is the commission's reason for declining Lyon, as a person of
// that language types it.
var cyReasons = map[string]string{
	"en": "Rouen carries Music for France this year.",
	"fr": "Rouen porte la musique pour la France cette année.",
}

// cySpace collapses runs of white space, as a reader sees them.
var cySpace = regexp.MustCompile(`\s+`)

func cyNorm(s string) string { return strings.TrimSpace(cySpace.ReplaceAllString(s, " ")) }

// cyCity makes a French applicant account for name and submits its
// complete dossier in the call through the API. ascii names its contacts'
// e-mail addresses (a city's name may carry accents; an address must not).
func cyCity(t *testing.T, tm *TestMain, name, ascii, field string) *city {
	t.Helper()
	slug := strings.ToLower(ascii)
	c := &city{Email: slug + "@fr.example.org", Name: name, Country: "FR", Field: field}
	c.Token = tm.MustUser(c.Email, engine.RoleApplicant, "FR", name)
	tm.startDossier(c, cyCallID)
	tm.MustDo(200, "PUT", "/api/v1/applications/"+c.Dossier.ID, c.Token, completeDraft(c.Dossier.Version, ascii), &c.Dossier)
	tm.move(c.Token, &c.Dossier, "submit", "", "submitted")
	return c
}

// cyEnter opens the public home as a newcomer and, for French, switches
// the pages with the header's language button, as a French reader would
// before signing in.
func cyEnter(t *testing.T, b *Browser, tm *TestMain, c bcCatalog, lang string) {
	t.Helper()
	if st := b.MustNavigate(tm.URL() + "/"); st != http.StatusOK {
		b.fatalf("GET /: status %d", st)
	}
	if lang == "fr" {
		b.MustClickNavigate(`header form.lang button[value="fr"]`)
	}
	cyCheckPage(t, b, c, lang, "home.title")
}

// cyCheckPage checks that the page is in the language and headed by the
// catalog's text of key (with args).
func cyCheckPage(t *testing.T, b *Browser, c bcCatalog, lang, key string, args ...any) {
	t.Helper()
	if got := MustEval[string](b, `document.documentElement.lang`); got != lang {
		b.fatalf("the page's <html lang> is %q, want %q", got, lang)
	}
	if got, want := cyNorm(b.MustText("main h1")), c.S(t, key, args...); got != want {
		b.fatalf("the page is headed %q, want %q (%s)", got, want, key)
	}
}

// cySignIn signs in from the header's link with the account's e-mail and
// testPassword, and returns the path the account lands on.
func cySignIn(t *testing.T, b *Browser, tm *TestMain, c bcCatalog, lang, email string) string {
	t.Helper()
	b.MustClickNavigate("header a.signin")
	return cySignInHere(t, b, tm, c, lang, email)
}

// cySignInHere fills the sign-in form the browser shows and sends it, and
// returns the path the account lands on. The form has no script: its
// inputs are set whole, which is quicker than typing them key by key.
func cySignInHere(t *testing.T, b *Browser, tm *TestMain, c bcCatalog, lang, email string) string {
	t.Helper()
	cyCheckPage(t, b, c, lang, "login.title")
	b.MustSetValue("#email", email)
	b.MustSetValue("#password", testPassword)
	if st := b.MustClickNavigate("main form button.primary"); st != http.StatusOK {
		b.fatalf("signing in as %s: status %d", email, st)
	}
	return bcPath(b, tm)
}

// cyConfirm is the confirmation page a move's button leads to: headed by
// the move's question, naming the dossier; #confirm makes the move and
// returns the status of the page after it.
func cyConfirm(t *testing.T, b *Browser, tm *TestMain, c bcCatalog, lang, button, event string, d *city) {
	t.Helper()
	if st := b.MustClickNavigate(button); st != http.StatusOK {
		b.fatalf("%s: the confirmation page's status is %d", button, st)
	}
	if p := bcPath(b, tm); p != "/dossiers/"+d.Dossier.ID+"/confirm" {
		b.fatalf("%s leads to %s, want the confirmation page /dossiers/%s/confirm", button, p, d.Dossier.ID)
	}
	cyCheckPage(t, b, c, lang, "confirm."+event+".title")
	if got, want := cyNorm(b.MustText("main .meta")), c.S(t, "dossier.title", d.Name, c.S(t, "field."+d.Field)); !strings.HasPrefix(got, want) {
		t.Errorf("the confirmation of %s names %q, want %q", event, got, want)
	}
	b.MustSee(c.S(t, "confirm."+event+".text"))
	if got, want := cyNorm(b.MustText("#confirm")), c.S(t, "event."+event); got != want {
		t.Errorf("the confirmation's button says %q, want %q", got, want)
	}
}

// cyRow is the visible text of a dossier's row on the commission's page.
func cyRow(b *Browser, id string) string {
	b.t.Helper()
	return cyNorm(bcShownText(b, "#row-"+id))
}

// cyState is the state a dossier page's header line shows.
func cyState(b *Browser) string {
	b.t.Helper()
	return cyNorm(b.MustText("main .meta .state"))
}

// cyCounts reads the board's table of counts: "state / field" → count, for
// every cell that is not zero, as the reader sees the labels.
func cyCounts(b *Browser) map[string]string {
	b.t.Helper()
	return MustEval[map[string]string](b, `(() => {
		const t = document.querySelector("table.counts");
		const out = {};
		if (!t) return out;
		const fields = [...t.querySelectorAll("thead th")].slice(1, -1).map(th => th.innerText.trim());
		for (const tr of t.querySelectorAll("tbody tr")) {
			const st = tr.querySelector("th").innerText.trim();
			[...tr.querySelectorAll("td")].slice(0, fields.length).forEach((td, i) => {
				const n = td.innerText.trim();
				if (n !== "0") out[st + " / " + fields[i]] = n;
			});
		}
		return out;
	})()`)
}

// cyListed is the cities the board's list of dossiers shows, in order.
func cyListed(b *Browser) []string {
	b.t.Helper()
	return MustEval[[]string](b, `[...document.querySelectorAll("table.dossiers tbody tr th")].map(th => th.innerText.trim())`)
}

// cyRefusal is the message a page gives for a refusal with the code: the
// engine's own in English (the API's message), the catalog's otherwise.
func cyRefusal(t *testing.T, c bcCatalog, lang, code, apiMessage string) string {
	t.Helper()
	if lang == "en" {
		return apiMessage
	}
	return c.S(t, "error."+code)
}

// TestBrowser_CommissionSecretariatAndPublic follows a call after the
// cities have submitted, once in English and once in French, each on a
// server and in a browser of its own: the commission's endorsement within
// the quota and its refusal beyond it, a decline with its reason, the
// secretariat's board and moves (accept only after the close, moved by the
// test's clock), and the public results from the announcement on.
func TestBrowser_CommissionSecretariatAndPublic(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel() // a server and a browser of its own
			cyCycle(t, lang)
		})
	}
}

func cyCycle(t *testing.T, lang string) {
	b := MustBrowser(t) // first: without Chromium, skip before starting anything
	tm := MustRunMain(t, false)
	c := bcLoadCatalog(t, lang)
	music, design := c.S(t, "field.Music"), c.S(t, "field.Design")

	// 1. Through the API: the open call; Rouen and Lyon in Music,
	// Saint-Étienne in Design, each submitted; the commission of France
	// and the secretariat.
	secretariat := tm.MustUser(cySecretariatEmail, engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody(cyCallID), nil)
	rouen := cyCity(t, tm, "Rouen", "Rouen", "Music")
	lyon := cyCity(t, tm, "Lyon", "Lyon", "Music")
	etienne := cyCity(t, tm, "Saint-Étienne", "Saint-Etienne", "Design")
	commission := tm.MustUser(cyCommissionEmail, engine.RoleCommission, "FR", "")

	// 2. The commission signs in and lands on its page: no endorsement yet.
	cyEnter(t, b, tm, c, lang)
	if p := cySignIn(t, b, tm, c, lang, cyCommissionEmail); p != "/commission" {
		b.fatalf("signed in, the commission lands on %s, want /commission", p)
	}
	cyCheckPage(t, b, c, lang, "commission.title", "FR")
	quota := "#quota-" + cyCallID
	if got, want := cyNorm(b.MustText(quota)), c.S(t, "quota.used", 0, 2)+", "+c.S(t, "quota.nofields")+"."; !strings.HasPrefix(got, want) {
		t.Errorf("before any endorsement the quota reads %q, want it to start with %q", got, want)
	}
	for _, d := range []*city{rouen, lyon, etienne} {
		if got := cyRow(b, d.Dossier.ID); !strings.Contains(got, d.Name) || !strings.Contains(got, c.S(t, "state.submitted")) {
			t.Errorf("the commission's row of %s reads %q, want the city and %q", d.Name, got, c.S(t, "state.submitted"))
		}
		for _, sel := range []string{"#endorse-", "#decline-", "#reason-"} {
			if bcShownText(b, sel+d.Dossier.ID) == "<none>" {
				t.Errorf("the row of %s, submitted, shows no %s", d.Name, sel+d.Dossier.ID)
			}
		}
	}
	b.Step("commission")
	b.MustAccessible("the commission's page")

	// A colleague at the commission opens the same page now, before the
	// endorsement below, from its address: signed in there (the sign-in
	// page in the browser's language), the pages are in the account's
	// language, which the first sign-in kept. The page still offers to
	// endorse Lyon.
	colleague := b.NewUser("colleague")
	colleague.MustNavigate(tm.URL() + "/commission")
	if p, want := bcPath(colleague, tm), "/login?next="+url.QueryEscape("/commission"); p != want {
		colleague.fatalf("signed out, /commission leads to %s, want %s", p, want)
	}
	colleague.MustSetValue("#email", cyCommissionEmail)
	colleague.MustSetValue("#password", testPassword)
	colleague.MustClickNavigate("main form button.primary")
	if p := bcPath(colleague, tm); p != "/commission" {
		colleague.fatalf("signed in, the colleague lands on %s, want /commission", p)
	}
	cyCheckPage(t, colleague, c, lang, "commission.title", "FR")
	if bcShownText(colleague, "#endorse-"+lyon.Dossier.ID) == "<none>" {
		t.Errorf("before Rouen's endorsement the colleague's page offers no endorsement of Lyon")
	}
	colleague.Step("commission-before-the-endorsement")

	// Rouen endorsed: its button, the confirmation, back to the page with
	// the notice and one place of two used, in Music.
	cyConfirm(t, b, tm, c, lang, "#endorse-"+rouen.Dossier.ID, "endorse", rouen)
	b.Step("confirm-endorse-rouen")
	b.MustAccessible("the confirmation page")
	if st := b.MustClickNavigate("#confirm"); st != http.StatusOK {
		b.fatalf("confirming the endorsement: status %d", st)
	}
	if p := bcPath(b, tm); p != "/commission?notice=moved" {
		t.Errorf("after the endorsement the commission is on %s, want /commission?notice=moved", p)
	}
	if got, want := bcShownText(b, "main .notice"), c.S(t, "notice.moved"); got != want {
		t.Errorf("after the endorsement the notice says %q, want %q", got, want)
	}
	if got, want := cyNorm(b.MustText(quota)), c.S(t, "quota.used", 1, 2)+", "+c.S(t, "quota.fields")+" "+music+"."; !strings.HasPrefix(got, want) {
		t.Errorf("after endorsing Rouen the quota reads %q, want it to start with %q", got, want)
	}
	if got := cyRow(b, rouen.Dossier.ID); !strings.Contains(got, c.S(t, "state.endorsed")) || !strings.Contains(got, c.S(t, "event.endorse")+" · ") {
		t.Errorf("Rouen's row reads %q, want %q and the endorsement with its time", got, c.S(t, "state.endorsed"))
	}
	// Lyon, in the same field, is no longer offered for endorsement.
	if got := bcShownText(b, "#endorse-"+lyon.Dossier.ID); got != "<none>" {
		t.Errorf("with Music used, Lyon (Music) is still offered for endorsement: %q", got)
	}
	b.Step("commission-rouen-endorsed")

	// The colleague's page is older: endorsing Lyon from it is refused, by
	// the server, with the quota's message, and Lyon stays submitted.
	cyConfirm(t, colleague, tm, c, lang, "#endorse-"+lyon.Dossier.ID, "endorse", lyon)
	colleague.Step("confirm-endorse-lyon")
	if st := colleague.MustClickNavigate("#confirm"); st != http.StatusConflict {
		t.Errorf("endorsing Lyon beyond the quota: status %d, want %d", st, http.StatusConflict)
	}
	quotaMsg := tm.MustFail(http.StatusConflict, engine.EQUOTAEXCEEDED, "POST", "/api/v1/applications/"+lyon.Dossier.ID+"/transitions",
		commission, map[string]string{"event": "endorse"}).Error.Message
	cyCheckPage(t, colleague, c, lang, "dossier.title", "Lyon", music)
	// The refusal says why in the reader's language: the field is taken.
	wantQuota := quotaMsg
	if lang != "en" {
		wantQuota = c.S(t, "msg.quota_field", "FR", music)
	}
	if got, want := cyNorm(bcShownText(colleague, "#error-summary")), wantQuota; got != want {
		t.Errorf("the refusal's summary says %q, want %q", got, want)
	}
	if got, want := cyState(colleague), c.S(t, "state.submitted"); got != want {
		t.Errorf("after the refusal the page shows Lyon %q, want %q", got, want)
	}
	if got := tm.dossier(lyon.Dossier.ID, commission).State; got != "submitted" {
		t.Errorf("after the refusal the API shows Lyon %s, want submitted", got)
	}
	colleague.Step("endorse-lyon-refused")
	colleague.MustAccessible("the refusal (Lyon's dossier, over the quota)")

	// Declining Lyon without a reason: the browser's required attribute
	// stops the form, the focus goes to the reason, nothing is sent.
	reasonSel, declineSel := "#reason-"+lyon.Dossier.ID, "#decline-"+lyon.Dossier.ID
	MustEval[bool](b, `window.cyStillHere = true`)
	b.MustClick(declineSel)
	type validity struct {
		Missing bool   `json:"missing"`
		Focused bool   `json:"focused"`
		Message string `json:"message"`
		Same    bool   `json:"same"`
	}
	v := MustEval[validity](b, fmt.Sprintf(`(() => {
		const ta = document.querySelector(%s);
		return {missing: ta.validity.valueMissing, focused: document.activeElement === ta,
			message: ta.validationMessage, same: window.cyStillHere === true};
	})()`, jsString(reasonSel)))
	if !v.Missing || !v.Focused || v.Message == "" || !v.Same {
		t.Errorf("declining without a reason: %+v; want the browser to refuse the empty required reason, with the focus on it and the page unchanged", v)
	}
	if got := tm.dossier(lyon.Dossier.ID, commission).State; got != "submitted" {
		t.Errorf("after the decline without a reason the API shows Lyon %s, want submitted", got)
	}
	if p := bcPath(b, tm); p != "/commission?notice=moved" {
		t.Errorf("the decline without a reason left the page for %s", p)
	}

	// Spaces pass the browser's check; the server refuses them, saying the
	// reason is required.
	b.MustFill(reasonSel, "   ")
	cyConfirm(t, b, tm, c, lang, declineSel, "decline", lyon)
	b.Step("confirm-decline-blank-reason")
	if st := b.MustClickNavigate("#confirm"); st != http.StatusBadRequest {
		t.Errorf("declining with a blank reason: status %d, want %d", st, http.StatusBadRequest)
	}
	blank := tm.MustFail(http.StatusBadRequest, engine.EINVALID, "POST", "/api/v1/applications/"+lyon.Dossier.ID+"/transitions",
		commission, map[string]string{"event": "decline", "note": "   "})
	noteMsg := blank.Error.Fields["note"]
	if lang != "en" {
		noteMsg = c.S(t, "msg.reason_required")
	}
	summary := cyNorm(bcShownText(b, "#error-summary"))
	if want := cyRefusal(t, c, lang, engine.EINVALID, blank.Error.Message); !strings.Contains(summary, want) || !strings.Contains(summary, noteMsg) {
		t.Errorf("the blank reason's refusal says %q, want %q and %q", summary, want, noteMsg)
	}
	if got, want := cyState(b), c.S(t, "state.submitted"); got != want {
		t.Errorf("after the blank reason the page shows Lyon %q, want %q", got, want)
	}
	b.Step("decline-blank-reason-refused")

	// Declined with a reason, from the commission's page: the reason shows
	// in Lyon's row.
	b.MustClickNavigate(`header nav a[href="/commission"]`)
	reason := cyReasons[lang]
	b.MustSetValue(reasonSel, reason)
	cyConfirm(t, b, tm, c, lang, declineSel, "decline", lyon)
	b.MustSee(c.S(t, "move.note") + " “" + reason + "”")
	b.Step("confirm-decline-lyon")
	if st := b.MustClickNavigate("#confirm"); st != http.StatusOK {
		b.fatalf("confirming the decline: status %d", st)
	}
	if got, want := bcShownText(b, "main .notice"), c.S(t, "notice.moved"); got != want {
		t.Errorf("after the decline the notice says %q, want %q", got, want)
	}
	row := cyRow(b, lyon.Dossier.ID)
	if !strings.Contains(row, c.S(t, "state.not_endorsed")) || !strings.Contains(row, c.S(t, "event.decline")+" · ") || !strings.HasSuffix(row, "“"+reason+"”") {
		t.Errorf("Lyon's row reads %q, want %q and the decline with its reason %q", row, c.S(t, "state.not_endorsed"), reason)
	}
	if got, want := cyNorm(b.MustText(quota)), c.S(t, "quota.used", 1, 2)+", "+c.S(t, "quota.fields")+" "+music+"."; !strings.HasPrefix(got, want) {
		t.Errorf("after declining Lyon the quota reads %q, want it to start with %q", got, want)
	}
	b.Step("commission-lyon-declined")

	// 3. The secretariat, in a browser of its own: the board counts what
	// the commission did.
	sec := b.NewUser("secretariat")
	cyEnter(t, sec, tm, c, lang)
	if p := cySignIn(t, sec, tm, c, lang, cySecretariatEmail); p != "/board" {
		sec.fatalf("signed in, the secretariat lands on %s, want /board", p)
	}
	cyCheckPage(t, sec, c, lang, "board.title")
	stateName := func(s string) string { return c.S(t, "state."+s) }
	cell := func(state, field string) string { return stateName(state) + " / " + field }
	if got, want := cyCounts(sec), map[string]string{cell("submitted", design): "1", cell("endorsed", music): "1", cell("not_endorsed", music): "1"}; !maps.Equal(got, want) {
		t.Errorf("the board counts %v, want %v", got, want)
	}
	if got, want := cyNorm(sec.MustText("#counts-h")), c.S(t, "board.counts", 3); got != want {
		t.Errorf("the counts are headed %q, want %q", got, want)
	}
	if got := cyListed(sec); len(got) != 3 {
		t.Errorf("the board lists %q, want the three dossiers", got)
	}
	sec.Step("board")
	sec.MustAccessible("the board")

	// A search on part of a name, in lower case and without its accent,
	// finds Saint-Étienne alone.
	sec.MustFill("#f-q", "etienne")
	if st := sec.MustClickNavigate("form.filters button.primary"); st != http.StatusOK {
		t.Errorf("the board filtered on \"etienne\": status %d", st)
	}
	if got := cyListed(sec); !slices.Equal(got, []string{"Saint-Étienne"}) {
		t.Errorf("the board filtered on \"etienne\" lists %q, want only Saint-Étienne", got)
	}
	if got := bcValue(sec, "#f-q"); got != "etienne" {
		t.Errorf("the filtered board's search reads %q, want what was typed", got)
	}
	sec.Step("board-filtered-etienne")
	sec.MustAccessible("the filtered board")

	// Rouen's dossier from the whole list: its history, and no accept
	// before the close.
	sec.MustClickNavigate(`form.filters a[href^="/board"]`)
	if got := cyListed(sec); len(got) != 3 {
		t.Errorf("the cleared board lists %q, want the three dossiers", got)
	}
	sec.MustClickNavigate(`table.dossiers a[href="/dossiers/` + rouen.Dossier.ID + `"]`)
	cyCheckPage(t, sec, c, lang, "dossier.title", "Rouen", music)
	if got, want := cyState(sec), stateName("endorsed"); got != want {
		t.Errorf("Rouen's dossier shows %q, want %q", got, want)
	}
	history := MustEval[[]string](sec, `[...document.querySelectorAll("ol.history li")].map(li => li.innerText.replace(/\s+/g, " ").trim())`)
	for _, want := range []string{
		fmt.Sprintf("%s (%s → %s) · %s", c.S(t, "event.submit"), stateName("draft"), stateName("submitted"), rouen.Email),
		fmt.Sprintf("%s (%s → %s) · %s", c.S(t, "event.endorse"), stateName("submitted"), stateName("endorsed"), cyCommissionEmail),
	} {
		if !slices.ContainsFunc(history, func(h string) bool { return strings.HasSuffix(h, want) }) {
			t.Errorf("Rouen's history %q has no line ending %q", history, want)
		}
	}
	if got := bcShownText(sec, "#move-accept"); got != "<none>" {
		t.Errorf("before the close Rouen's dossier offers %q", got)
	}
	sec.Step("dossier-before-the-close")
	sec.MustAccessible("the dossier's staff view")

	// The close passes (the test's clock moves, by six weeks: the session
	// has ended meanwhile); reloaded, the page asks to sign in again and
	// leads back to the dossier, which now offers accept and reject.
	tm.Advance(callClose.Add(time.Minute))
	sec.MustNavigate(sec.MustLocation())
	if p, want := bcPath(sec, tm), "/login?next="+url.QueryEscape("/dossiers/"+rouen.Dossier.ID); p != want {
		t.Errorf("six weeks later the dossier's address leads to %s, want %s", p, want)
	}
	if p, want := cySignInHere(t, sec, tm, c, lang, cySecretariatEmail), "/dossiers/"+rouen.Dossier.ID; p != want {
		sec.fatalf("signed in again, the secretariat lands on %s, want %s", p, want)
	}
	for _, e := range []string{"accept", "reject"} {
		if got, want := bcShownText(sec, "#move-"+e), c.S(t, "event."+e); got != want {
			t.Errorf("after the close Rouen's dossier offers %q for %s, want %q", got, e, want)
		}
	}
	sec.Step("dossier-after-the-close")

	// Accepted, its evaluation started, recommended: each through its
	// confirmation, back to the dossier with the notice.
	for _, m := range []struct{ event, state string }{{"accept", "eligible"}, {"start_evaluation", "under_evaluation"}, {"recommend", "recommended"}} {
		cyConfirm(t, sec, tm, c, lang, "#move-"+m.event, m.event, rouen)
		sec.Step("confirm-" + m.event)
		if st := sec.MustClickNavigate("#confirm"); st != http.StatusOK {
			sec.fatalf("confirming %s: status %d", m.event, st)
		}
		if p := bcPath(sec, tm); p != "/dossiers/"+rouen.Dossier.ID+"?notice=moved" {
			t.Errorf("after %s the secretariat is on %s, want Rouen's dossier with the notice", m.event, p)
		}
		if got, want := bcShownText(sec, "main .notice"), c.S(t, "notice.moved"); got != want {
			t.Errorf("after %s the notice says %q, want %q", m.event, got, want)
		}
		if got, want := cyState(sec), stateName(m.state); got != want {
			t.Fatalf("after %s Rouen is %q, want %q", m.event, got, want)
		}
		sec.Step("dossier-" + m.state)
	}
	sec.MustClickNavigate(`header nav a[href="/board"]`)
	if got, want := cyCounts(sec), map[string]string{cell("submitted", design): "1", cell("not_endorsed", music): "1", cell("recommended", music): "1"}; !maps.Equal(got, want) {
		t.Errorf("after the recommendation the board counts %v, want %v", got, want)
	}
	sec.Step("board-rouen-recommended")

	// 4. Anybody: before the announcement the results do not exist.
	public := b.NewUser("public")
	cyEnter(t, public, tm, c, lang)
	results := "/calls/" + cyCallID + "/results"
	if MustEval[bool](public, fmt.Sprintf(`document.querySelector('main a[href=%s]') !== null`, jsString(results))) {
		t.Errorf("before the announcement the home links to the results")
	}
	if st := public.MustNavigate(tm.URL() + results); st != http.StatusNotFound {
		t.Errorf("GET %s before the announcement: status %d, want 404", results, st)
	}
	cyCheckPage(t, public, c, lang, "error.title")
	notYet := tm.MustFail(http.StatusNotFound, engine.ENOTFOUND, "GET", "/api/v1/calls/"+cyCallID+"/results", "", nil).Error.Message
	if got, want := cyNorm(bcShownText(public, "#error-summary")), cyRefusal(t, c, lang, engine.ENOTFOUND, notYet); got != want {
		t.Errorf("the results before the announcement say %q, want %q", got, want)
	}
	public.Step("results-before-the-announcement")

	// The announcement (the test's clock again): the home links to the
	// results, which list Rouen under Music and France.
	tm.Advance(callAnnounce.Add(time.Second))
	public.MustNavigate(tm.URL() + "/")
	cyCheckPage(t, public, c, lang, "home.title")
	if got, want := cyNorm(bcShownText(public, "#call-"+cyCallID+" + p")), c.S(t, "call.state")+" "+c.S(t, "callstate.announced"); got != want {
		t.Errorf("after the announcement the home says %q, want %q", got, want)
	}
	public.Step("home-announced")
	public.MustAccessible("the home page")
	if got, want := cyNorm(public.MustText(fmt.Sprintf(`main a[href=%s]`, jsString(results)))), c.S(t, "home.results"); got != want {
		t.Errorf("the home's link to the results says %q, want %q", got, want)
	}
	if st := public.MustClickNavigate(fmt.Sprintf(`main a[href=%s]`, jsString(results))); st != http.StatusOK {
		t.Errorf("the results: status %d", st)
	}
	if p := bcPath(public, tm); p != results {
		t.Errorf("the home's link leads to %s, want %s", p, results)
	}
	cyCheckPage(t, public, c, lang, "results.title", "Call "+cyCallID)
	public.MustSee(c.S(t, "results.count.one", 1))
	if got := MustEval[[]string](public, `[...document.querySelectorAll("main section h2[id^=field-]")].map(h => h.innerText.replace(/\s+/g, " ").trim())`); !slices.Equal(got, []string{music + " (1)"}) {
		t.Errorf("the results are in the fields %q, want only %q", got, music+" (1)")
	}
	if got := MustEval[[]string](public, `[...document.querySelectorAll("dl.results > *")].map(e => e.localName + ":" + e.innerText.trim())`); !slices.Equal(got, []string{"dt:FR", "dd:Rouen"}) {
		t.Errorf("the results list %q, want FR then Rouen", got)
	}
	public.MustNotSee("Lyon")
	public.MustNotSee("Saint-Étienne")
	public.Step("results")
	public.MustAccessible("the results")
}

// cyReader is what one language's reader of every page uses: accounts of
// its own (an account keeps the language it signed in with, so the other
// language's reader could not share it) and its city's complete draft.
type cyReader struct {
	lang                    string
	city                    *city
	commission, secretariat string
}

// TestBrowser_EveryPageInBothLanguages visits every kind of page once per
// language, on one demo server (its clock page on, 48 demo dossiers around
// the test's own; seeded once, since seeding is slow), each language in a
// browser of its own, at the same time: each page must be in that
// language, headed by the catalog's text, and pass axe-core; each is kept
// as a screenshot. Nothing moves the clock, so that neither reader's pages
// change under the other's: the results are those of a call announced
// before the clock's start.
func TestBrowser_EveryPageInBothLanguages(t *testing.T) {
	if _, err := findChromium(); err != nil {
		MustBrowser(t) // skips, or fails with DESIGNATE_REQUIRE_BROWSER=1, before starting anything
	}
	tm := MustRunMainConfig(t, ConfigForTest(t, t.TempDir(), true), engine.NewManualClock(testStart))
	if !tm.Service.TimeTravelEnabled() {
		t.Fatal("the demo server runs without its demo clock (demo.time_travel in config.yaml)")
	}

	// The test's own calls besides the demo's: one open (callBody has no
	// file slot), one whose every instant is a year before the clock's
	// start, announced as soon as it is created.
	secretariat := tm.MustUser("cy-secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody(cyOpenCall), nil)
	past := callBody(cyPastCall)
	for _, k := range []string{"opens_at", "submission_deadline", "endorsement_deadline", "evaluation_deadline", "announcement_at"} {
		at, err := time.Parse(time.RFC3339, past[k].(string))
		if err != nil {
			t.Fatal(err)
		}
		past[k] = at.AddDate(-1, 0, 0).Format(time.RFC3339)
	}
	var announced Call
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, past, &announced)
	if announced.State != "announced" {
		t.Fatalf("the call of a year ago is %s, want announced", announced.State)
	}

	readers := map[string]*cyReader{}
	for lang, name := range map[string]string{"en": "Nantes", "fr": "Lille"} {
		r := &cyReader{lang: lang, commission: "cy-commission-" + lang + "@example.org", secretariat: "cy-secretariat-" + lang + "@example.org"}
		r.city = &city{Email: strings.ToLower(name) + "@fr.example.org", Name: name, Country: "FR", Field: "Design"}
		r.city.Token = tm.MustUser(r.city.Email, engine.RoleApplicant, "FR", name)
		tm.startDossier(r.city, cyOpenCall)
		tm.MustDo(200, "PUT", "/api/v1/applications/"+r.city.Dossier.ID, r.city.Token, completeDraft(r.city.Dossier.Version, name), &r.city.Dossier)
		tm.MustUser(r.commission, engine.RoleCommission, "FR", "")
		tm.MustUser(r.secretariat, engine.RoleSecretariat, "", "")
		readers[lang] = r
	}
	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel() // a browser of its own; the server's clock stays put
			cyEveryPage(t, tm, readers[lang])
		})
	}
}

// The calls of TestBrowser_EveryPageInBothLanguages.
const (
	cyOpenCall = "cy-2027"
	cyPastCall = "cy-2026"
)

func cyEveryPage(t *testing.T, tm *TestMain, r *cyReader) {
	b := MustBrowser(t)
	lang, d := r.lang, r.city
	c := bcLoadCatalog(t, lang)
	field := c.S(t, "field."+d.Field)

	// page checks the page the reader is on, keeps it and runs axe-core.
	page := func(name, key string, args ...any) {
		t.Helper()
		cyCheckPage(t, b, c, lang, key, args...)
		b.Step(name)
		b.MustAccessible(name)
	}
	status := func(what string, got, want int) {
		t.Helper()
		if got != want {
			b.fatalf("%s: status %d, want %d", what, got, want)
		}
	}
	// signOut signs out with the header's button, back to the calls.
	signOut := func() {
		t.Helper()
		status("signing out", b.MustClickNavigate("header form.who button"), http.StatusOK)
		if p := bcPath(b, tm); p != "/?notice=signedout" {
			b.fatalf("signing out leads to %s, want /?notice=signedout", p)
		}
	}

	// One reader in one browser, the language switched once (a cookie),
	// signing in and out as each account in turn. A visitor: the calls,
	// the help, the sign-in and its refusal.
	cyEnter(t, b, tm, c, lang)
	page("home", "home.title")
	status("the help", b.MustClickNavigate(`header nav a[href="/help"]`), http.StatusOK)
	page("help", "help.title")
	status("the sign-in page", b.MustClickNavigate("header a.signin"), http.StatusOK)
	page("login", "login.title")
	b.MustSetValue("#email", d.Email)
	b.MustSetValue("#password", "not the password")
	status("a wrong password", b.MustClickNavigate("main form button.primary"), http.StatusUnauthorized)
	if bcShownText(b, "#error-summary") == "<none>" {
		t.Errorf("the refused sign-in shows no message")
	}
	page("login-refused", "login.title")

	// The city, with the right password: its home, its draft, the
	// submission's confirmation and its receipt; then a page that does
	// not exist.
	if p := cySignInHere(t, b, tm, c, lang, d.Email); p != "/city" {
		b.fatalf("signed in, the city lands on %s, want /city", p)
	}
	page("city-home", "city.title", d.Name)
	status("the draft", b.MustClickNavigate(`main a[href="/dossiers/`+d.Dossier.ID+`"]`), http.StatusOK)
	if bcShownText(b, "#dossier-form") == "<none>" {
		t.Errorf("the city's draft shows no editor")
	}
	page("dossier-editor", "dossier.title", d.Name, field)
	status("the submission's confirmation", b.MustClickNavigate("#move-submit"), http.StatusOK)
	page("confirm-submit", "confirm.submit.title")
	status("the receipt", b.MustClickNavigate("#confirm"), http.StatusOK)
	if p := bcPath(b, tm); p != "/dossiers/"+d.Dossier.ID+"/receipt" {
		t.Errorf("submitting leads to %s, want the receipt", p)
	}
	page("receipt", "receipt.title")
	status("a page that does not exist", b.MustNavigate(tm.URL()+"/no-such-page"), http.StatusNotFound)
	page("not-found", "error.title")
	signOut()

	// The commission's page.
	if p := cySignIn(t, b, tm, c, lang, r.commission); p != "/commission" {
		b.fatalf("signed in, the commission lands on %s, want /commission", p)
	}
	page("commission", "commission.title", "FR")
	signOut()

	// The secretariat: its board, the dossier, the demo clock.
	if p := cySignIn(t, b, tm, c, lang, r.secretariat); p != "/board" {
		b.fatalf("signed in, the secretariat lands on %s, want /board", p)
	}
	page("board", "board.title")
	status("the submitted dossier", b.MustNavigate(tm.URL()+"/dossiers/"+d.Dossier.ID), http.StatusOK)
	if bcShownText(b, "ol.history") == "<none>" || bcShownText(b, "#dossier-form") != "<none>" {
		t.Errorf("the secretariat's view of the dossier shows no history, or an editor")
	}
	page("dossier-staff-view", "dossier.title", d.Name, field)
	status("the demo clock", b.MustClickNavigate(`header nav a[href="/demo/clock"]`), http.StatusOK)
	page("demo-clock", "democlock.title")
	signOut()

	// The results of the call announced a year ago, from the calls' page.
	results := fmt.Sprintf(`main a[href="/calls/%s/results"]`, cyPastCall)
	if got, want := cyNorm(b.MustText(results)), c.S(t, "home.results"); got != want {
		t.Errorf("the link to the results says %q, want %q", got, want)
	}
	status("the results", b.MustClickNavigate(results), http.StatusOK)
	b.MustSee(c.S(t, "results.none"))
	page("results", "results.title", "Call "+cyPastCall)
}
