package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"designate/engine"
)

// pageSend sends a page request as a browser would (a form, no redirect
// followed), signed in by the token when there is one.
func pageSend(t *testing.T, tm *TestMain, method, path, token string, form url.Values, multipartFile []byte) *Response {
	t.Helper()
	var body io.Reader
	contentType := ""
	switch {
	case multipartFile != nil:
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "letter.pdf")
		fw.Write(multipartFile)
		mw.Close()
		body, contentType = &b, mw.FormDataContentType()
	case form != nil:
		body, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(method, tm.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// pageWant is what one actor gets from a page route: the status, and for a
// redirect where it leads.
type pageWant struct {
	status int
	to     string
}

var (
	pOK       = pageWant{status: 200}
	pToLogin  = pageWant{303, "/login?next="}
	pNotFound = pageWant{status: 404}
)

func pTo(prefix string) pageWant { return pageWant{303, prefix} }

// TestPages_AccessFollowsTheEngine runs every page route for the public,
// the dossier's own city, another city, the country's commission and the
// secretariat, on the own city's draft. What a page may show or do is the
// engine's decision, as for the API: the public is sent to sign in, a draft
// is nobody's business but its city's (404), and every refused request
// leaves the database as it was. Adding a page route without a row here
// fails the test.
func TestPages_AccessFollowsTheEngine(t *testing.T) {
	f := newAttFixture(t, "pages")
	tm := f.TestMain
	rouen := tm.newCity("Rouen", "FR", "Music")
	commission := tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	id := f.cannes.Dossier.ID
	tokens := []struct {
		name, token string
	}{{"public", ""}, {"Cannes", f.cannes.Token}, {"Rouen", rouen.Token}, {"commission", commission}, {"secretariat", f.secretariat}}

	attempt := 0
	rows := []struct {
		route string
		form  func() url.Values
		file  []byte
		want  [5]pageWant
	}{
		{"GET /", nil, nil, [5]pageWant{pOK, pOK, pOK, pOK, pOK}},
		{"GET /help", nil, nil, [5]pageWant{pOK, pOK, pOK, pOK, pOK}},
		{"GET /login", nil, nil, [5]pageWant{pOK, pTo("/city"), pTo("/city"), pTo("/commission"), pTo("/board")}},
		{"POST /login", func() url.Values {
			attempt++ // an e-mail each, so the sign-in throttle stays out of it
			return url.Values{"email": {"nobody" + strconv.Itoa(attempt) + "@example.org"}, "password": {"wrong password"}}
		}, nil,
			[5]pageWant{{status: 401}, {status: 401}, {status: 401}, {status: 401}, {status: 401}}},
		{"POST /language", func() url.Values { return url.Values{"language": {"en"}, "next": {"/help"}} }, nil,
			[5]pageWant{pTo("/help"), pTo("/help"), pTo("/help"), pTo("/help"), pTo("/help")}},
		{"GET /city", nil, nil, [5]pageWant{pToLogin, pOK, pOK, pTo("/commission"), pTo("/board")}},
		{"GET /commission", nil, nil, [5]pageWant{pToLogin, pTo("/city"), pTo("/city"), pOK, pTo("/board")}},
		{"GET /board", nil, nil, [5]pageWant{pToLogin, pTo("/city"), pTo("/city"), pTo("/commission"), pOK}},
		// The call is open: its results do not exist yet, for anybody.
		{"GET /calls/{call}/results", nil, nil, [5]pageWant{pNotFound, pNotFound, pNotFound, pNotFound, pNotFound}},
		// The call's dates are public from its opening, as its page is.
		{"GET /calls/{call}/calendar.ics", nil, nil, [5]pageWant{pOK, pOK, pOK, pOK, pOK}},
		// This server runs on the real clock: only the staff learn that
		// there is no demo clock to move.
		{"GET /demo/clock", nil, nil, [5]pageWant{pToLogin, {status: 403}, {status: 403}, {status: 403}, pNotFound}},
		{"POST /demo/clock", func() url.Values { return url.Values{"to": {"2099-01-01T00:00:00Z"}} }, nil,
			[5]pageWant{pToLogin, {status: 403}, {status: 403}, {status: 403}, pNotFound}},
		{"GET /dossiers/{id}", nil, nil, [5]pageWant{pToLogin, pOK, pNotFound, pNotFound, pNotFound}},
		{"GET /dossiers/{id}/receipt", nil, nil, [5]pageWant{pToLogin, pTo("/dossiers/"), pNotFound, pNotFound, pNotFound}},
		{"POST /calls/{call}/dossiers", func() url.Values { return url.Values{"field": {"Film"}, "language": {"en"}} }, nil,
			[5]pageWant{pToLogin, {status: 409}, pTo("/dossiers/"), {status: 403}, {status: 403}}},
		{"POST /dossiers/{id}", func() url.Values {
			return url.Values{"version": {strconv.Itoa(f.get().Version)}, "sections.vision": {"A vision."}}
		}, nil, [5]pageWant{pToLogin, pTo("/dossiers/" + id + "?notice=saved"), pNotFound, pNotFound, pNotFound}},
		{"POST /dossiers/{id}/files/{slot}", nil, attPDF("page access"),
			[5]pageWant{pToLogin, pTo("/dossiers/" + id + "?notice=uploaded"), pNotFound, pNotFound, pNotFound}},
		// Deletes the letter the row above uploaded.
		{"POST /dossiers/{id}/files/{slot}/{n}/delete", func() url.Values { return url.Values{} }, nil,
			[5]pageWant{pToLogin, pTo("/dossiers/" + id + "?notice=deleted"), pNotFound, pNotFound, pNotFound}},
		{"POST /dossiers/{id}/confirm", func() url.Values { return url.Values{"event": {"withdraw"}} }, nil,
			[5]pageWant{pToLogin, pOK, pNotFound, pNotFound, pNotFound}},
		{"POST /dossiers/{id}/move", func() url.Values { return url.Values{"event": {"endorse"}} }, nil,
			[5]pageWant{pToLogin, {status: 403}, pNotFound, pNotFound, pNotFound}},
		// Evaluation: the evaluator's list and review, the secretariat's
		// assignments, ranking, outbox and release. On a draft nobody but
		// its city knows of, and the city may do none of it.
		{"GET /reviews", nil, nil, [5]pageWant{pToLogin, pTo("/city"), pTo("/city"), pTo("/commission"), pTo("/board")}},
		{"POST /dossiers/{id}/review", func() url.Values { return url.Values{"score.vision": {"3"}, "final": {""}} }, nil,
			[5]pageWant{pToLogin, {status: 403}, pNotFound, pNotFound, pNotFound}},
		{"POST /dossiers/{id}/conflict", func() url.Values { return url.Values{"reason": {"My cousin is the mayor."}} }, nil,
			[5]pageWant{pToLogin, {status: 403}, pNotFound, pNotFound, pNotFound}},
		{"POST /dossiers/{id}/assignments", func() url.Values { return url.Values{"evaluator": {"nobody"}, "kind": {"expert"}} }, nil,
			[5]pageWant{pToLogin, {status: 403}, pNotFound, pNotFound, pNotFound}},
		{"POST /dossiers/{id}/assignments/{evaluator}/delete", func() url.Values { return url.Values{} }, nil,
			[5]pageWant{pToLogin, {status: 403}, pNotFound, pNotFound, pNotFound}},
		{"GET /calls/{call}/ranking", nil, nil, [5]pageWant{pToLogin, {status: 403}, {status: 403}, {status: 403}, pOK}},
		{"POST /calls/{call}/results/release", func() url.Values { return url.Values{} }, nil,
			[5]pageWant{pToLogin, {status: 403}, {status: 403}, {status: 403}, {status: 409}}},
		{"GET /outbox", nil, nil, [5]pageWant{pToLogin, pTo("/city"), pTo("/city"), pTo("/commission"), pOK}},
		{"POST /outbox/{id}/retry", func() url.Values { return url.Values{} }, nil,
			[5]pageWant{pToLogin, {status: 403}, {status: 403}, {status: 403}, pNotFound}},
		{"POST /logout", func() url.Values { return url.Values{} }, nil,
			[5]pageWant{pTo("/?notice=signedout"), pTo("/?notice=signedout"), pTo("/?notice=signedout"), pTo("/?notice=signedout"), pTo("/?notice=signedout")}},
	}

	src, err := os.ReadFile(filepath.Join(repoRoot(t), "web", "routes_pages.go"))
	if err != nil {
		t.Fatal(err)
	}
	registered, _ := mxRoutesOf(string(src))
	var covered []string
	for _, row := range rows {
		covered = append(covered, row.route)
	}
	for _, r := range registered {
		if !slices.Contains(covered, r) {
			t.Errorf("web/routes_pages.go registers %s, which has no row here", r)
		}
	}

	for _, row := range rows {
		method, path, _ := strings.Cut(row.route, " ")
		path = strings.NewReplacer("{id}", id, "{call}", "pages", "{slot}", "letter", "{n}", "1", "{evaluator}", "nobody").Replace(path)
		for i, who := range tokens {
			if row.route == "POST /logout" && who.token != "" {
				continue // checked last, so the other rows keep their sessions
			}
			var form url.Values
			if row.form != nil {
				form = row.form()
			}
			before := dumpDB(t, tm)
			r := pageSend(t, tm, method, path, who.token, form, row.file)
			want := row.want[i]
			loc := r.Header.Get("Location")
			if r.Status != want.status || (want.to != "" && !strings.HasPrefix(loc, want.to)) {
				t.Errorf("%s as %s: %d %s, want %d %s", row.route, who.name, r.Status, loc, want.status, want.to)
				continue
			}
			if r.Status >= 400 {
				if diff := diffDB(before, dumpDB(t, tm)); len(diff) > 0 && !(row.route == "POST /login") {
					t.Errorf("%s as %s was refused but changed the database:\n%s", row.route, who.name, strings.Join(diff, "\n"))
				}
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("%s as %s: a refusal as %q, want a page", row.route, who.name, ct)
				}
			}
			if method == "GET" && r.Status < 400 {
				if diff := diffDB(before, dumpDB(t, tm)); len(diff) > 0 {
					t.Errorf("GET %s as %s changed the database:\n%s", path, who.name, strings.Join(diff, "\n"))
				}
			}
		}
	}
	// Signing out ends the session: the token no longer opens the city's page.
	if r := pageSend(t, tm, "POST", "/logout", f.cannes.Token, url.Values{}, nil); r.Status != 303 {
		t.Fatalf("sign-out: %d", r.Status)
	}
	if r := pageSend(t, tm, "GET", "/city", f.cannes.Token, nil, nil); r.Status != 401 {
		t.Errorf("the city's page after sign-out with its bearer token: %d, want 401", r.Status)
	}
}

// TestPages_LanguageChosenBeforeSignInStaysWithTheAccount: a visitor who
// switches to French and then signs in keeps French, on this device and,
// through the account, on every other.
func TestPages_LanguageChosenBeforeSignInStaysWithTheAccount(t *testing.T) {
	tm := MustRunMain(t, false)
	tm.MustUser("lyon@example.org", engine.RoleApplicant, "FR", "Lyon")
	r := pageSend(t, tm, "POST", "/language", "", url.Values{"language": {"fr"}, "next": {"/login"}}, nil)
	var chosen *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "designate_lang" {
			chosen = c
		}
	}
	if r.Status != 303 || chosen == nil || chosen.Value != "fr" {
		t.Fatalf("switching to French: %d, cookie %v", r.Status, chosen)
	}
	form := url.Values{"email": {"lyon@example.org"}, "password": {testPassword}}
	req, _ := http.NewRequest("POST", tm.URL()+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(chosen)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	// Another device: a bearer token, no cookie.
	token := tm.MustLogin("lyon@example.org", testPassword)
	var me struct {
		Language string `json:"language"`
	}
	tm.MustDo(200, "GET", "/api/v1/me", token, nil, &me)
	if me.Language != "fr" {
		t.Fatalf("the account's language after signing in from a French page: %q, want fr", me.Language)
	}
	page := pageSend(t, tm, "GET", "/city", token, nil, nil)
	if !strings.Contains(string(page.Body), `<html lang="fr">`) {
		t.Errorf("the city's page on another device is not in French")
	}
}
