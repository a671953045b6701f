package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"designate/engine"
)

// An applicant city's whole journey through the pages, in a real browser
// against the real server: the public calls, switching the language, signing
// in, the countdown, a draft typed over a word limit, a submission refused
// with the message by its section, the files through the upload forms (a
// wrong type refused by its slot), the submission and its receipt, whose
// digest must be the API's. Every helper here starts with "bc", so that it
// cannot collide with the other browser tests' helpers.

// bcNow is the server's (manual) clock in the city tests: 30 April 2027,
// 21:45 in Paris, two hours and a quarter before the call's deadline (23:59),
// so the city submits on the last evening. The clock never moves: every
// instant a page shows is this one or the call's.
var bcNow = time.Date(2027, 4, 30, 19, 45, 0, 0, time.UTC)

// bcZone is the reader's own time zone, set in the browser: nine hours from
// UTC and seven from the call's zone, so "in your time zone" cannot be the
// call's time or UTC by chance.
const bcZone = "Asia/Tokyo"

// bcTexts is what a reader of one language sees that the catalog does not
// hold: instants as the pages write them, and the dossier as typed.
type bcTexts struct {
	lang string
	// The call's deadline and enforced close, and the submission (bcNow),
	// in the call's zone and in UTC, as the server writes them.
	deadline, close, submittedCall, submittedUTC string
	// Parts of the same instants in the reader's zone (bcZone), as the
	// browser writes them.
	closeLocal, submittedLocal  []string
	vision, planOver, planFixed string
	// The Mayor's name, typed with the rest of the contacts.
	mayor string
	// A photo's name with a space and accents, as a person names files.
	photoName string
}

var bcLanguages = map[string]bcTexts{
	"en": {
		lang:           "en",
		deadline:       "30 April 2027, 23:59 (CEST)",
		close:          "1 May 2027, 00:29 (CEST)",
		submittedCall:  "30 April 2027, 21:45 (CEST)",
		submittedUTC:   "30 April 2027, 19:45 (UTC)",
		closeLocal:     []string{"May 1, 2027", "7:29"},
		submittedLocal: []string{"May 1, 2027", "4:45"},
		vision:         "Cannes puts film at the heart of the city all year round.",
		planOver:       "Festivals, residencies, schools, open-air screenings, film archives and a new cinema school for everyone.",
		planFixed:      "Festivals, residencies, schools and open-air screenings.",
		mayor:          "David Lisnard",
		photoName:      "Marché Forville at dawn.jpg",
	},
	"fr": {
		lang:           "fr",
		deadline:       "30 avril 2027, 23:59 (CEST)",
		close:          "1 mai 2027, 00:29 (CEST)",
		submittedCall:  "30 avril 2027, 21:45 (CEST)",
		submittedUTC:   "30 avril 2027, 19:45 (UTC)",
		closeLocal:     []string{"1 mai 2027", "07:29"},
		submittedLocal: []string{"1 mai 2027", "04:45"},
		vision:         "Cannes place le cinéma au cœur de la ville toute l'année.",
		planOver:       "Festivals, résidences, écoles, projections en plein air, archives du film et une nouvelle école de cinéma.",
		planFixed:      "Festivals, résidences, écoles et projections en plein air.",
		mayor:          "David Lisnard",
		photoName:      "Marché Forville à l'aube.jpg",
	},
}

// bcCatalog is the pages' translations of one language, read from the
// repository's web/i18n, so that the test looks for the very texts a reader
// of that language is shown.
type bcCatalog map[string]string

func bcLoadCatalog(t *testing.T, lang string) bcCatalog {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "web", "i18n", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	c := bcCatalog{}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("web/i18n/%s.json: %v", lang, err)
	}
	return c
}

// S is the text of key with args, as the pages format it; a missing key
// fails the test.
func (c bcCatalog) S(t *testing.T, key string, args ...any) string {
	t.Helper()
	msg, ok := c[key]
	if !ok {
		t.Fatalf("the catalog has no %q", key)
	}
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	return msg
}

// bcReaderZone makes the browser's time zone bcZone, as if the city's
// officer sat there, and its clock the server's manual clock (only Date.now,
// which the countdown reads), so that what the scripts compute from "now"
// agrees with what the server says; from the next page loaded on.
func bcReaderZone(b *Browser, serverNow time.Time) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), actionTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: bcZone}); err != nil {
		b.fatalf("set the browser's time zone to %s: %v", bcZone, err)
	}
	offset := serverNow.Sub(time.Now()).Milliseconds()
	src := fmt.Sprintf(`(() => { const real = Date.now.bind(Date); Date.now = () => real() + %d; })();`, offset)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		b.fatalf("set the browser's clock to the server's: %v", err)
	}
}

// bcWaitFor polls a JavaScript expression until it returns "", meaning the
// page shows what is expected; otherwise it returns what it sees instead,
// which the failure prints. Errors while a page replaces another (the
// script's context goes away) are retried.
func bcWaitFor(b *Browser, what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	last := ""
	for {
		got, err := runAction(b, chromedp.Evaluate[string](js))
		if err == nil && got == "" {
			return
		}
		if err != nil {
			last = "error: " + err.Error()
		} else {
			last = got
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.fatalf("waiting for %s: %s", what, last)
}

// bcWaitText waits until the element matching selector is shown and its
// visible text contains text.
func bcWaitText(b *Browser, selector, text string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) return "no element matches";
		if (!el.checkVisibility()) return "the element is not shown; it holds " + JSON.stringify(el.innerText);
		return el.innerText.includes(%s) ? "" : "it shows " + JSON.stringify(el.innerText);
	})()`, jsString(selector), jsString(text))
	bcWaitFor(b, fmt.Sprintf("%s to show %q", selector, text), js)
}

// bcShownText is the visible text of the element matching selector, or
// "<none>" when no element matches or it is not shown.
func bcShownText(b *Browser, selector string) string {
	b.t.Helper()
	return strings.TrimSpace(MustEval[string](b, fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		return el && el.checkVisibility() ? el.innerText : "<none>";
	})()`, jsString(selector))))
}

// bcValue is the value of the input or textarea matching selector.
func bcValue(b *Browser, selector string) string {
	b.t.Helper()
	return MustEval[string](b, fmt.Sprintf(`document.querySelector(%s).value`, jsString(selector)))
}

// bcPath is the current page's path and query, without the server.
func bcPath(b *Browser, tm *TestMain) string {
	b.t.Helper()
	return strings.TrimPrefix(b.MustLocation(), tm.URL())
}

// bcDescribedBy reports whether the element matching selector names id
// among the elements that describe it (aria-describedby), which is how a
// screen reader ties a message to its input.
func bcDescribedBy(b *Browser, selector, id string) bool {
	b.t.Helper()
	list := MustEval[string](b, fmt.Sprintf(`document.querySelector(%s).getAttribute("aria-describedby") || ""`, jsString(selector)))
	return slices.Contains(strings.Fields(list), id)
}

// bcStep keeps a screenshot of the page and checks it with axe-core.
func bcStep(b *Browser, name string) {
	b.t.Helper()
	b.Step(name)
	b.MustAccessible(name)
}

// bcCityFiles writes the files the city uploads: the Mayor's letter, three
// photos and a PNG poster for the photos slot, which takes JPEG only.
type bcCityFiles struct {
	letter, poster string
	photos         []string
	content        map[string][]byte // by file name
}

func bcWriteFiles(t *testing.T, photoName string) bcCityFiles {
	t.Helper()
	dir := t.TempDir()
	f := bcCityFiles{content: map[string][]byte{}}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f.content[name] = data
		return p
	}
	f.letter = write("mayor-letter.pdf", attPDF("Cannes, letter from the Mayor"))
	f.poster = write("festival-poster.png", attPNG(t, 64, 48, 1))
	for i, name := range []string{"old-port.jpg", "croisette.jpg", photoName} {
		f.photos = append(f.photos, write(name, demoJPEG(320, 240, i+1)))
	}
	return f
}

// TestBrowser_CityDraftsUploadsSubmitsAndGetsAReceipt follows an applicant
// city from the public calls to its receipt, once in English and once in
// French, each in a browser of its own.
func TestBrowser_CityDraftsUploadsSubmitsAndGetsAReceipt(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) { bcCityJourney(t, bcLanguages[lang]) })
	}
}

func bcCityJourney(t *testing.T, lx bcTexts) {
	b := MustBrowser(t) // first: without Chromium, skip before starting anything
	tm := MustRunMain(t, false)
	c := bcLoadCatalog(t, lx.lang)
	en := bcLoadCatalog(t, "en")

	// The secretariat opens the call (attCallBody: sections with a 10-word
	// "plan", three required JPEG photos, a required PDF letter, optional
	// extras); then the clock goes to the last evening before the deadline.
	const callID = "uccn-2027"
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, attCallBody(callID), nil)
	tm.Advance(bcNow)
	// The city's account reads in the run's language, as one made with
	// `designate user add --language fr` does; the password is MustUser's.
	const email = "cannes@example.org"
	if _, err := tm.Service.CreateUser(context.Background(), engine.System, engine.NewUser{Email: email, Password: testPassword,
		Role: engine.RoleApplicant, Country: "FR", City: "Cannes", Language: lx.lang}); err != nil {
		t.Fatal(err)
	}
	files := bcWriteFiles(t, lx.photoName)
	bcReaderZone(b, bcNow)

	// 1. The public calls, in English by the browser's preference; the
	// header's button switches the pages to French (and, in the English
	// run, its counterpart back to English).
	if st := b.MustNavigate(tm.URL() + "/"); st != http.StatusOK {
		t.Fatalf("GET /: status %d", st)
	}
	if got, want := b.MustText("h1"), en.S(t, "home.title"); got != want {
		t.Fatalf("the home page's heading is %q, want %q (English, as the browser prefers)", got, want)
	}
	bcCheckHome(t, b, en, bcLanguages["en"], callID)
	bcStep(b, "home")

	b.MustClickNavigate(`header form.lang button[value="fr"]`)
	fr := bcLoadCatalog(t, "fr")
	if got, want := b.MustText("h1"), fr.S(t, "home.title"); got != want {
		t.Fatalf("after clicking Français the heading is %q, want %q", got, want)
	}
	if got := MustEval[string](b, `document.documentElement.lang`); got != "fr" {
		t.Errorf("after clicking Français the page's lang is %q, want fr", got)
	}
	if got := b.MustText("header form.lang button"); got != "English" {
		t.Errorf("the French page's language button says %q, want English", got)
	}
	bcCheckHome(t, b, fr, bcLanguages["fr"], callID)
	bcStep(b, "home-in-french")
	if lx.lang == "en" {
		b.MustClickNavigate(`header form.lang button[value="en"]`)
		if got, want := b.MustText("h1"), en.S(t, "home.title"); got != want {
			t.Fatalf("after clicking English the heading is %q, want %q", got, want)
		}
		bcCheckHome(t, b, en, lx, callID)
		bcStep(b, "home-in-english-again")
	}

	// 2. Signing in from the header's link, as the city; its home shows
	// the countdown in the call's zone and, with JavaScript, in the
	// reader's own zone, and the time left by the server's clock.
	b.MustClickNavigate("header a.signin")
	if p := bcPath(b, tm); p != "/login" {
		t.Fatalf("the header's sign-in link leads to %s, want /login", p)
	}
	if got, want := b.MustText("h1"), c.S(t, "login.title"); got != want {
		t.Errorf("the sign-in page's heading is %q, want %q", got, want)
	}
	bcStep(b, "sign-in")
	b.MustFill("#email", email)
	b.MustFill("#password", testPassword)
	b.MustClickNavigate("main form button.primary")
	if p := bcPath(b, tm); p != "/city" {
		t.Fatalf("signed in, the city lands on %s, want /city", p)
	}
	if got, want := b.MustText("h1"), c.S(t, "city.title", "Cannes"); got != want {
		t.Errorf("the city's home is headed %q, want %q", got, want)
	}
	b.MustSee(c.S(t, "countdown.deadline", lx.deadline))
	b.MustSee(c.S(t, "countdown.close", lx.close))
	for _, part := range lx.closeLocal {
		bcWaitText(b, ".countdown .local", part)
	}
	if got := bcShownText(b, ".countdown .local"); !strings.HasPrefix(got, c.S(t, "countdown.local")) || strings.Contains(got, "00:29") || strings.Contains(got, "22:29") {
		t.Errorf("the line in the reader's zone (%s) says %q: want %q and the close at %v there, not in Paris or UTC",
			bcZone, got, c.S(t, "countdown.local"), lx.closeLocal)
	}
	// 22:29 UTC less 19:45 UTC: 2 h 44 min, less the seconds this test took.
	bcWaitFor(b, "the time left", `(() => {
		const t = document.querySelector(".countdown .left");
		if (!t || !t.checkVisibility()) return "no time left shown";
		return /\b2 h 4[34] min \d\d s$/.test(t.innerText.trim()) ? "" : "it shows " + JSON.stringify(t.innerText);
	})()`)
	bcStep(b, "city-home")

	// 3. A dossier started in Film, in the page's language; the contacts
	// and the sections typed; the plan typed over its limit of 10 words.
	b.MustSelect("#field-"+callID, "Film")
	if got := bcValue(b, "#lang-"+callID); got != lx.lang {
		t.Errorf("the dossier's language is %q by default, want the page's %q", got, lx.lang)
	}
	b.MustClickNavigate("main form.inline button.primary")
	m := regexp.MustCompile(`^/dossiers/([^/?#]+)\?notice=started$`).FindStringSubmatch(bcPath(b, tm))
	if m == nil {
		t.Fatalf("starting a dossier leads to %s, want /dossiers/{id}?notice=started", bcPath(b, tm))
	}
	id := m[1]
	b.MustSee(c.S(t, "notice.started"))
	if got, want := b.MustText("h1"), c.S(t, "dossier.title", "Cannes", c.S(t, "field.Film")); got != want {
		t.Errorf("the editor is headed %q, want %q", got, want)
	}
	contacts := map[string][3]string{
		"mayor":          {lx.mayor, "mayor@cannes.example.org", "+33 4 97 06 40 00"},
		"representative": {"Marie Dupont", "deputy@cannes.example.org", "+33 4 97 06 40 01"},
		"main":           {"Jean Martin", "culture@cannes.example.org", "+33 4 97 06 40 02"},
	}
	for role, v := range contacts {
		for i, part := range []string{"name", "email", "phone"} {
			b.MustFill("#f-contacts-"+role+"-"+part, v[i])
		}
	}
	b.MustFill("#f-sections-vision", lx.vision)
	plan := "#f-sections-plan"
	if got := b.MustText(plan + "-count"); !strings.HasPrefix(got, "0 / 10") || strings.Contains(got, c.S(t, "section.over")) {
		t.Errorf("the empty plan's counter says %q, want 0 / 10 and not over", got)
	}
	b.MustFill(plan, lx.planOver)
	over := len(strings.Fields(lx.planOver))
	if over <= 10 {
		t.Fatalf("the text typed over the limit has %d words", over)
	}
	bcCheckCounter(t, b, c, plan, over, true)
	bcStep(b, "plan-over-its-limit")

	// A draft may be saved over a limit: nothing typed is lost.
	b.MustClickNavigate(`#dossier-form button[name="action"]`)
	if p := bcPath(b, tm); p != "/dossiers/"+id+"?notice=saved" {
		t.Errorf("saving leads to %s, want /dossiers/%s?notice=saved", p, id)
	}
	if got, want := bcShownText(b, "main .notice"), c.S(t, "notice.saved"); got != want {
		t.Errorf("after saving the notice says %q, want %q", got, want)
	}
	if got := bcValue(b, plan); got != lx.planOver {
		t.Errorf("the saved plan reads %q, want what was typed, %q", got, lx.planOver)
	}
	bcCheckCounter(t, b, c, plan, over, true)
	for role, v := range contacts {
		if got := bcValue(b, "#f-contacts-"+role+"-name"); got != v[0] {
			t.Errorf("the saved %s's name is %q, want %q", role, got, v[0])
		}
	}
	bcStep(b, "draft-saved-over-the-limit")

	// Submitting is refused, with the plan's message by the plan, and the
	// text as typed still in it.
	b.MustClickNavigate("#move-submit")
	if got, want := b.MustText("h1"), c.S(t, "confirm.submit.title"); got != want {
		t.Fatalf("the submit button leads to %q, want the confirmation %q", got, want)
	}
	b.MustSee(c.S(t, "confirm.submit.text"))
	bcStep(b, "confirm-submission")
	if st := b.MustClickNavigate("#confirm"); st != http.StatusUnprocessableEntity {
		t.Errorf("submitting the incomplete dossier: status %d, want 422", st)
	}
	summary := c.S(t, "error.incomplete")
	if lx.lang == "en" {
		summary = "The dossier is not complete." // the engine's own message, in English
	}
	bcWaitText(b, "#error-summary", summary)
	msg := bcShownText(b, plan+"-msg")
	if !strings.Contains(msg, fmt.Sprint(over)) || !strings.Contains(msg, "10") {
		t.Errorf("the plan's message says %q: want its %d words and the limit of 10", msg, over)
	}
	if lx.lang == "en" && msg != fmt.Sprintf(`"Action plan" has %d words; the limit is 10`, over) {
		t.Errorf("the plan's message says %q", msg)
	}
	if !MustEval[bool](b, `document.querySelector("#f-sections-plan-msg").closest(".section").contains(document.querySelector("#f-sections-plan"))`) {
		t.Errorf("the plan's message is not by the plan's text")
	}
	if !bcDescribedBy(b, plan, "f-sections-plan-msg") || MustEval[string](b, `document.querySelector("#f-sections-plan").getAttribute("aria-invalid") || ""`) != "true" {
		t.Errorf("the plan's text is not marked invalid and described by its message")
	}
	if got := bcShownText(b, "#f-sections-vision-msg"); got != "<none>" {
		t.Errorf("the vision, within its limit, has a message: %q", got)
	}
	for _, slot := range []string{"letter", "photos"} {
		if got := bcShownText(b, "#f-attachments-"+slot+"-slot .field-error"); got == "<none>" {
			t.Errorf("the empty required slot %s has no message by it", slot)
		}
	}
	if got := bcValue(b, plan); got != lx.planOver {
		t.Errorf("after the refusal the plan reads %q, want what was typed, %q", got, lx.planOver)
	}
	if got := bcShownText(b, "main .notice"); got != "<none>" {
		t.Errorf("the refusal shows a notice: %q", got)
	}
	bcStep(b, "submission-refused")

	// 4. The plan cut down and saved; then the files through the page's
	// forms: the letter, a PNG the photos slot refuses, three photos.
	b.MustFill(plan, lx.planFixed)
	fixed := len(strings.Fields(lx.planFixed))
	bcCheckCounter(t, b, c, plan, fixed, false)
	b.MustClickNavigate(`#dossier-form button[name="action"]`)
	if got, want := bcShownText(b, "main .notice"), c.S(t, "notice.saved"); got != want {
		t.Errorf("after saving the fixed plan the notice says %q, want %q", got, want)
	}
	if got := bcShownText(b, "#error-summary"); got != "<none>" {
		t.Errorf("the saved draft still shows the refusal: %q", got)
	}
	if got := bcValue(b, plan); got != lx.planFixed {
		t.Errorf("the saved plan reads %q, want %q", got, lx.planFixed)
	}
	bcCheckCounter(t, b, c, plan, fixed, false)
	bcStep(b, "plan-fixed")

	bcUpload(t, b, c, "letter", files.letter)
	if got := bcShownText(b, "#f-attachments-letter-slot form.upload"); got != "<none>" {
		t.Errorf("the letter slot, full, still offers an upload: %q", got)
	}
	if got := bcShownText(b, "#f-attachments-letter-slot .field-error"); got != "<none>" {
		t.Errorf("the letter slot still shows a message: %q", got)
	}
	bcStep(b, "letter-uploaded")

	b.MustUpload("#f-attachments-photos-file", files.poster)
	b.MustClick("#f-attachments-photos-slot form.upload button")
	bcWaitText(b, "#f-attachments-photos-slot .field-error", "PNG")
	refusal := bcShownText(b, "#f-attachments-photos-slot .field-error")
	if !strings.Contains(refusal, "JPEG") {
		t.Errorf("the photos slot's refusal says %q: want the type it takes, JPEG", refusal)
	}
	if got := bcShownText(b, "#f-attachments-photos-slot .filelist"); got != "<none>" {
		t.Errorf("after the refused PNG the photos slot lists %q, want no file", got)
	}
	b.MustNotSee(filepath.Base(files.poster))
	if got, want := bcShownText(b, "#f-attachments-photos-slot"), c.S(t, "files.none"); !strings.Contains(got, want) {
		t.Errorf("after the refused PNG the photos slot shows %q, want %q", got, want)
	}
	if got := bcShownText(b, "main .notice"); got != "<none>" {
		t.Errorf("the refused upload shows a notice: %q", got)
	}
	if got := bcShownText(b, "#error-summary"); got == "<none>" {
		t.Errorf("the refused upload shows no message at the top")
	}
	bcStep(b, "png-refused")
	// Reloaded, the page must not claim the refused file went in (the
	// address of the page before said ?notice=uploaded, for the letter).
	b.MustNavigate(b.MustLocation())
	b.MustNotSee(c.S(t, "notice.uploaded"))
	b.MustNotSee(filepath.Base(files.poster))

	for _, p := range files.photos {
		bcUpload(t, b, c, "photos", p)
	}
	if got := bcShownText(b, "#f-attachments-photos-slot form.upload"); got != "<none>" {
		t.Errorf("the photos slot, full, still offers an upload: %q", got)
	}
	bcStep(b, "photos-uploaded")

	// 5. Submitted: the receipt.
	b.MustClickNavigate("#move-submit")
	b.MustClickNavigate("#confirm")
	if p := bcPath(b, tm); p != "/dossiers/"+id+"/receipt" {
		t.Fatalf("submitting leads to %s, want /dossiers/%s/receipt", p, id)
	}
	if got, want := b.MustText("h1"), c.S(t, "receipt.title"); got != want {
		t.Errorf("the receipt is headed %q, want %q", got, want)
	}
	receipt := MustEval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll(".receipt dt")]
		.filter(dt => dt.checkVisibility())
		.map(dt => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()]))`)
	for k, want := range map[string]string{
		c.S(t, "receipt.id"):                      id,
		c.S(t, "receipt.city"):                    "Cannes (FR), " + c.S(t, "field.Film"),
		c.S(t, "receipt.at.call", "Europe/Paris"): lx.submittedCall,
		c.S(t, "receipt.at.utc"):                  lx.submittedUTC,
		c.S(t, "receipt.files"):                   "4",
	} {
		if got, ok := receipt[k]; !ok || got != want {
			t.Errorf("the receipt's %q is %q, want %q (the receipt shows %q)", k, got, want, receipt)
		}
	}
	bcWaitText(b, ".receipt dd.local", lx.submittedLocal[0])
	if got := bcShownText(b, ".receipt dd.local"); !strings.Contains(got, lx.submittedLocal[1]) {
		t.Errorf("the receipt's time in the reader's zone (%s) is %q, want %v", bcZone, got, lx.submittedLocal)
	}
	digest := b.MustText("#receipt-digest")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(digest) {
		t.Errorf("the receipt's digest is %q, want 64 lower-case hex digits", digest)
	}
	bcStep(b, "receipt")

	// The receipt's digest is the API's, which anyone holding the dossier
	// recomputes; what the API holds is what the browser typed and sent.
	token := tm.MustLogin(email, testPassword)
	got := attDecodeDossier(t, tm.MustSend("GET", "/api/v1/applications/"+id, token, nil))
	if got.SubmissionDigest != digest {
		t.Errorf("the receipt shows the digest %s; the API's submission_digest is %s", digest, got.SubmissionDigest)
	}
	if re := engine.SubmissionDigest(&got); re != digest {
		t.Errorf("the dossier as the API shows it digests to %s, not the receipt's %s", re, digest)
	}
	if got.State != engine.Submitted || got.SubmittedAt == nil || !got.SubmittedAt.Equal(bcNow) || got.Language != lx.lang {
		t.Errorf("the API shows the dossier %s at %v in %q, want submitted at %v in %q", got.State, got.SubmittedAt, got.Language, bcNow, lx.lang)
	}
	if got.Sections["vision"] != lx.vision || got.Sections["plan"] != lx.planFixed || got.Contacts.Mayor.Name != lx.mayor ||
		got.Contacts.Main.Phone != contacts["main"][2] {
		t.Errorf("the API holds sections %q and contacts %+v, not what was typed", got.Sections, got.Contacts)
	}
	var uploaded []string
	for _, at := range got.Attachments {
		uploaded = append(uploaded, at.Slot+"/"+at.Name)
		if want := files.content[at.Name]; want == nil || at.SHA256 != attSHA(want) {
			t.Errorf("the API holds %s/%s with digest %s, not the file's", at.Slot, at.Name, at.SHA256)
		}
	}
	wantFiles := []string{"photos/old-port.jpg", "photos/croisette.jpg", "photos/" + lx.photoName, "letter/mayor-letter.pdf"}
	if !slices.Equal(uploaded, wantFiles) {
		t.Errorf("the API holds the files %q, want %q", uploaded, wantFiles)
	}

	// 6. The city's home lists the dossier as submitted, and offers no
	// second one.
	b.MustClickNavigate(`header nav a[href="/city"]`)
	row := bcShownText(b, fmt.Sprintf(`main table tr:has(a[href="/dossiers/%s"])`, id))
	if !strings.Contains(row, c.S(t, "field.Film")) || !strings.Contains(row, c.S(t, "state.submitted")) {
		t.Errorf("the city's home shows the dossier as %q, want %q and %q", row, c.S(t, "field.Film"), c.S(t, "state.submitted"))
	}
	if got := bcShownText(b, fmt.Sprintf(`main table tr:has(a[href="/dossiers/%s"]) .state`, id)); got != c.S(t, "state.submitted") {
		t.Errorf("the dossier's state reads %q, want %q", got, c.S(t, "state.submitted"))
	}
	b.MustNotSee(c.S(t, "city.start"))
	bcStep(b, "city-home-submitted")
}

// bcCheckHome checks the public home in one language: the call, its state
// and its timeline, with the phase under way marked.
func bcCheckHome(t *testing.T, b *Browser, c bcCatalog, lx bcTexts, callID string) {
	t.Helper()
	if got := b.MustText("#call-" + callID); got != "Call "+callID {
		t.Errorf("the call is shown as %q, want %q", got, "Call "+callID)
	}
	b.MustSee(c.S(t, "call.state") + " " + c.S(t, "callstate.open"))
	phases := MustEval[[]string](b, `[...document.querySelectorAll("main .timeline li")].map(li => li.innerText.replace(/\s+/g, " ").trim())`)
	want := []string{c.S(t, "phase.opens"), c.S(t, "phase.deadline") + " " + lx.deadline, c.S(t, "phase.close") + " " + lx.close,
		c.S(t, "phase.endorsement"), c.S(t, "phase.evaluation"), c.S(t, "phase.announcement")}
	if len(phases) != len(want) {
		t.Fatalf("the timeline shows %q, want %d phases", phases, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(phases[i], w) {
			t.Errorf("phase %d of the timeline is %q, want it to start with %q", i+1, phases[i], w)
		}
	}
	if got := bcShownText(b, "main .timeline li.current"); !strings.HasPrefix(got, c.S(t, "phase.deadline")) {
		t.Errorf("the phase under way is %q, want the submission deadline", got)
	}
}

// bcCheckCounter checks the live word counter under a section: the words
// typed of the limit, and whether it says (and shows) they are over it.
func bcCheckCounter(t *testing.T, b *Browser, c bcCatalog, textarea string, words int, over bool) {
	t.Helper()
	counter := textarea + "-count"
	bcWaitText(b, counter, fmt.Sprintf("%d / 10", words))
	text := b.MustText(counter)
	hasClass := MustEval[bool](b, fmt.Sprintf(`document.querySelector(%s).classList.contains("over")`, jsString(counter)))
	if says := strings.Contains(text, c.S(t, "section.over")); says != over || hasClass != over {
		t.Errorf("with %d words of 10 the counter says %q (class over: %v), want over the limit: %v", words, text, hasClass, over)
	}
	if !bcDescribedBy(b, textarea, strings.TrimPrefix(counter, "#")) {
		t.Errorf("the counter %s does not describe its text", counter)
	}
}

// bcUpload uploads the file at path into slot through the page's form; the
// page must then list it in the slot and say it is uploaded.
func bcUpload(t *testing.T, b *Browser, c bcCatalog, slot, path string) {
	t.Helper()
	name := filepath.Base(path)
	sel := "#f-attachments-" + slot + "-slot"
	b.MustUpload(sel+" input[type=file]", path)
	b.MustClick(sel + " form.upload button")
	bcWaitText(b, sel+" .filelist", name)
	if got, want := bcShownText(b, "main .notice"), c.S(t, "notice.uploaded"); got != want {
		t.Errorf("after uploading %s the notice says %q, want %q", name, got, want)
	}
	if got := bcShownText(b, "#error-summary"); got != "<none>" {
		t.Errorf("after uploading %s the page shows a refusal: %q", name, got)
	}
}

// TestBrowser_KeyboardOnly signs in with the keyboard alone: Tab reaches the
// skip link first, every stop shows where the focus is, the skip link leads
// past the header, Tab goes from the e-mail to the password to the button,
// and Enter on the button signs in.
func TestBrowser_KeyboardOnly(t *testing.T) {
	b := MustBrowser(t)
	tm := MustRunMain(t, false)
	tm.MustUser("cannes@example.org", engine.RoleApplicant, "FR", "Cannes")
	c := bcLoadCatalog(t, "en")

	if st := b.MustNavigate(tm.URL() + "/login"); st != http.StatusOK {
		t.Fatalf("GET /login: status %d", st)
	}
	// focused describes the focused element and whether the focus shows:
	// an outline drawn (not "none", wider than 0) and the element on screen.
	const focused = `(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return {what: "body", shown: false};
		const cs = getComputedStyle(el), r = el.getBoundingClientRect();
		const what = el.id ? "#" + el.id : el.localName + (el.className ? "." + String(el.className).split(" ")[0] : "") + ":" + (el.innerText || el.value || "").trim();
		return {what, shown: cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0 &&
			r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight};
	})()`
	type focus struct {
		What  string `json:"what"`
		Shown bool   `json:"shown"`
	}
	press := func(key string) {
		t.Helper()
		if err := b.do(chromedp.KeyEvent(key)); err != nil {
			b.fatalf("press %q: %v", key, err)
		}
	}
	tab := func(want string) focus {
		t.Helper()
		press(kb.Tab)
		f := MustEval[focus](b, focused)
		if want != "" && f.What != want {
			b.fatalf("Tab moved the focus to %s, want %s", f.What, want)
		}
		if !f.Shown {
			b.fatalf("the focus on %s does not show: no outline, or off the screen", f.What)
		}
		return f
	}
	if got := MustEval[focus](b, focused); got.What != "body" {
		t.Fatalf("on arrival the focus is on %s, want nowhere (body)", got.What)
	}

	// From the top, Tab goes through the header to the e-mail field, the
	// skip link first; each stop shows its focus.
	var stops []string
	tab("a.skip:" + c.S(t, "nav.skip"))
	b.Step("skip-link-focused")
	for len(stops) < 10 {
		f := tab("")
		stops = append(stops, f.What)
		if f.What == "#email" {
			break
		}
		if MustEval[bool](b, `document.querySelector("main").contains(document.activeElement)`) {
			t.Fatalf("Tab went from the header to %s in the content, before the e-mail field (stops: %q)", f.What, stops)
		}
	}
	if stops[len(stops)-1] != "#email" {
		t.Fatalf("ten Tabs never reached the e-mail field: %q", stops)
	}
	wantHeader := []string{"a.brand:designate", "a:" + c.S(t, "nav.calls"), "a:" + c.S(t, "nav.help"), "button:Français", "a.signin:" + c.S(t, "nav.signin"), "#email"}
	if !slices.Equal(stops, wantHeader) {
		t.Errorf("Tab went through %q, want %q", stops, wantHeader)
	}

	// Again from the top, with the skip link: Enter on it puts the focus
	// on the content, and the next Tab on the e-mail field.
	b.MustNavigate(tm.URL() + "/login")
	tab("a.skip:" + c.S(t, "nav.skip"))
	press(kb.Enter)
	if got := MustEval[focus](b, focused); got.What != "#main" {
		t.Fatalf("Enter on the skip link moved the focus to %s, want the content (#main)", got.What)
	}
	tab("#email")
	press("cannes@example.org")
	b.Step("email-typed")
	tab("#password")
	press(testPassword)
	tab("button.primary:" + c.S(t, "login.submit"))
	b.Step("sign-in-button-focused")
	b.MustAccessible("sign-in, focus on the button")
	if got := bcValue(b, "#email"); got != "cannes@example.org" {
		t.Errorf("typed into the e-mail field: %q", got)
	}

	// Enter on the button signs in.
	ctx, cancel := context.WithTimeout(b.Context(), actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(kb.Enter))
	if err = b.explain(err); err != nil {
		b.fatalf("Enter on the sign-in button: %v", err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		t.Errorf("the page after signing in: %+v", resp)
	}
	if p := bcPath(b, tm); p != "/city" {
		t.Fatalf("signed in with the keyboard, the city lands on %s, want /city", p)
	}
	if got, want := b.MustText("h1"), c.S(t, "city.title", "Cannes"); got != want {
		t.Errorf("the city's home is headed %q, want %q", got, want)
	}
	b.Step("signed-in")
}
