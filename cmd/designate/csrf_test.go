package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"designate/engine"
)

// The browser's session: a cookie scripts cannot read, not sent cross-site,
// and http.CrossOriginProtection refusing a state-changing request another
// site makes a browser send. GETs never change state, so they need none.

// csrfFixture is a draftFixture with a browser session of Tours (its cookie).
type csrfFixture struct {
	draftFixture
	cookie string // "designate_session=…"
}

// csrfCallBody is the fixture's call: callBody with two optional PDF
// slots, a letter and up to two annexes, so that the file routes have
// something to show and to change.
func csrfCallBody() map[string]any {
	b := callBody("csrf")
	slot := func(id, title string, files int) map[string]any {
		return map[string]any{"id": id, "title": map[string]string{"en": title, "fr": title}, "types": []string{"pdf"},
			"max_bytes": 100_000, "files": files, "required": false}
	}
	b["attachments"] = []map[string]any{slot("letter", "Letter", 1), slot("annex", "Annexes", 2)}
	b["max_attachment_bytes"] = 300_000
	return b
}

func newCSRFFixture(t *testing.T) *csrfFixture {
	f := &csrfFixture{draftFixture: newDraftFixtureWith(t, csrfCallBody())}
	f.cookie = sessionCookieOf(t, f.TestMain, f.tours.Email)
	return f
}

// sessionCookieOf signs in asking for the cookie, checks every attribute of
// the one Set-Cookie, and returns the cookie as a browser sends it back.
func sessionCookieOf(t *testing.T, tm *TestMain, email string) string {
	t.Helper()
	r := tm.MustSend("POST", "/api/v1/login", "", map[string]any{"email": email, "password": testPassword, "session_cookie": true})
	if r.Status != 200 {
		t.Fatalf("login with session_cookie: status %d; body %s", r.Status, r.Body)
	}
	var res struct{ Token string }
	if err := json.Unmarshal(r.Body, &res); err != nil || res.Token == "" {
		t.Fatalf("login body %s: %v", r.Body, err)
	}
	set := r.Header.Values("Set-Cookie")
	if len(set) != 1 {
		t.Fatalf("Set-Cookie %q, want exactly one", set)
	}
	raw := set[0]
	c, err := http.ParseSetCookie(raw)
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", raw, err)
	}
	if c.Name != "designate_session" || c.Value != res.Token {
		t.Errorf("cookie %s=%s, want designate_session with the token of the body", c.Name, c.Value)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Errorf("Set-Cookie %q: want HttpOnly, SameSite=Lax, Path=/ and, over plain http, not Secure", raw)
	}
	// The attributes as the browser reads them, not as a parser forgives.
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(raw, "; "+attr) {
			t.Errorf("Set-Cookie %q lacks %s", raw, attr)
		}
	}
	if strings.Contains(strings.ToLower(raw), "secure") {
		t.Errorf("Set-Cookie %q is Secure over plain http: the browser would never send it back", raw)
	}
	if c.MaxAge <= 0 || c.Domain != "" {
		t.Errorf("Set-Cookie %q: want a positive Max-Age and no Domain (host-only)", raw)
	}
	return c.Name + "=" + c.Value
}

// browser are the headers a browser adds to a request from a page: the
// cookie, and where the page is.
func (f *csrfFixture) browser(site, origin string) map[string]string {
	h := map[string]string{"Cookie": f.cookie}
	if site != "" {
		h["Sec-Fetch-Site"] = site
	}
	if origin != "" {
		h["Origin"] = origin
	}
	return h
}

func TestCSRF_SessionCookie(t *testing.T) {
	f := newCSRFFixture(t) // checks the cookie's attributes

	// Without asking, an API client gets no cookie.
	r := f.MustSend("POST", "/api/v1/login", "", map[string]string{"email": f.tours.Email, "password": testPassword})
	if r.Status != 200 || len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("login without session_cookie: status %d, Set-Cookie %q", r.Status, r.Header.Values("Set-Cookie"))
	}

	// The cookie signs the browser in, as the token does.
	me := sendRaw(t, f.TestMain, "GET", "/api/v1/me", nil, f.browser("same-origin", ""))
	if me.Status != 200 || !bytes.Contains(me.Body, []byte(f.tours.Email)) {
		t.Fatalf("GET /me with the cookie: %d %s", me.Status, me.Body)
	}

	// Signing out (same-origin) ends the session and clears the cookie; the
	// cookie then signs nobody in, and is cleared again.
	out := sendRaw(t, f.TestMain, "POST", "/api/v1/logout", nil, f.browser("same-origin", f.URL()))
	if out.Status != 204 {
		t.Fatalf("logout with the cookie: %d %s", out.Status, out.Body)
	}
	cleared, err := http.ParseSetCookie(out.Header.Get("Set-Cookie"))
	if err != nil || cleared.Name != "designate_session" || cleared.Value != "" || cleared.MaxAge >= 0 {
		t.Errorf("logout Set-Cookie %q: want designate_session cleared (%v)", out.Header.Get("Set-Cookie"), err)
	}
	after := sendRaw(t, f.TestMain, "GET", "/api/v1/me", nil, f.browser("same-origin", ""))
	MustAPIError(t, after, 401, "unauthorized")
	if !strings.HasPrefix(after.Header.Get("Set-Cookie"), "designate_session=;") {
		t.Errorf("401 with an ended session's cookie: Set-Cookie %q, want it cleared", after.Header.Get("Set-Cookie"))
	}
}

func TestCSRF_CrossSiteWritesAreRefused(t *testing.T) {
	f := newCSRFFixture(t)
	tours := f.tours
	save := func(version int, vision string) []byte {
		body := completeDraft(version, "Tours")
		body["sections"].(map[string]string)["vision"] = vision
		return jsonOf(t, body)
	}

	// Same origin, with the cookie only: the page saves the draft.
	r := sendRaw(t, f.TestMain, "PUT", f.draft, save(1, "Saved from the page."), f.browser("same-origin", f.URL()))
	if r.Status != 200 {
		t.Fatalf("same-origin PUT with the cookie: %d %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &tours.Dossier); err != nil || tours.Dossier.Version != 2 {
		t.Fatalf("same-origin PUT: %s (%v)", r.Body, err)
	}
	// An older browser sends Origin only; the same origin passes.
	r = sendRaw(t, f.TestMain, "PUT", f.draft, save(2, "Saved by an older browser."), f.browser("", f.URL()))
	if r.Status != 200 {
		t.Fatalf("PUT with the cookie and a same Origin: %d %s", r.Status, r.Body)
	}
	json.Unmarshal(r.Body, &tours.Dossier)
	// A file, from the page: same origin, the cookie, the raw body.
	r = sendRaw(t, f.TestMain, "POST", f.draft+"/attachments/letter?name=letter.pdf", demoPDF("Tours"), f.browser("same-origin", f.URL()))
	if r.Status != 201 {
		t.Fatalf("same-origin upload with the cookie: %d %s", r.Status, r.Body)
	}
	json.Unmarshal(r.Body, &tours.Dossier)
	saved := f.Raw(f.draft, tours.Token)

	// From another site, whatever the request, with the cookie: refused,
	// in the error shape, and nothing changes.
	cross := []struct {
		name, site, origin string
	}{
		{"Sec-Fetch-Site cross-site", "cross-site", "https://evil.example"},
		{"Sec-Fetch-Site cross-site, no Origin", "cross-site", ""},
		{"Sec-Fetch-Site same-site", "same-site", "https://sub." + strings.TrimPrefix(f.URL(), "http://")},
		{"Origin only", "", "https://evil.example"},
		{"Origin null", "", "null"},
		{"same host, other port", "", "http://127.0.0.1:1"},
	}
	writes := []struct {
		method, path string
		body         []byte
	}{
		{"PUT", f.draft, save(tours.Dossier.Version, "Written by evil.example.")},
		{"POST", f.draft + "/transitions", []byte(`{"event": "submit"}`)},
		{"POST", "/api/v1/calls/csrf/applications", []byte(`{"city": "Tours", "country": "FR", "field": "Film", "language": "en"}`)},
		{"POST", "/api/v1/me/password", []byte(`{"current_password": "` + testPassword + `", "new_password": "chosen by evil.example"}`)},
		{"POST", "/api/v1/logout", nil},
		{"POST", "/api/v1/login", []byte(`{"email": "admin@example.org", "password": "guess guess guess", "session_cookie": true}`)},
		{"DELETE", f.draft + "/assignments/0000000000000000", nil},
		{"POST", f.draft + "/attachments/annex?name=evil.pdf", demoPDF("evil.example")},
		{"PUT", f.draft + "/attachments/letter/1?name=evil.pdf", demoPDF("evil.example")},
		{"DELETE", f.draft + "/attachments/letter/1", nil},
	}
	before, disk := dumpDB(t, f.TestMain), attDisk(t, f.TestMain)
	for _, c := range cross {
		for _, w := range writes {
			r := sendRaw(t, f.TestMain, w.method, w.path, w.body, f.browser(c.site, c.origin))
			if r.Status != 403 {
				t.Errorf("%s: %s %s: status %d, want 403; body %s", c.name, w.method, w.path, r.Status, r.Body)
				continue
			}
			MustAPIError(t, r, 403, "forbidden")
			if r.Header.Get("Set-Cookie") != "" {
				t.Errorf("%s: %s %s: Set-Cookie %q on a refusal", c.name, w.method, w.path, r.Header.Get("Set-Cookie"))
			}
		}
	}
	mustSameDB(t, "cross-site writes", before, dumpDB(t, f.TestMain))
	f.MustUnchanged(f.draft, tours.Token, saved)
	if after := attDisk(t, f.TestMain); len(after.kept) != len(disk.kept) || len(after.staging) != 0 {
		t.Errorf("cross-site uploads: %d kept files, %d before; staging %v", len(after.kept), len(disk.kept), after.staging)
	}

	// The session survived (the cross-site logout did nothing), and reading
	// cross-site with the cookie is allowed: a GET changes nothing.
	for _, c := range cross {
		r := sendRaw(t, f.TestMain, "GET", f.draft, nil, f.browser(c.site, c.origin))
		if r.Status != 200 || !bytes.Equal(r.Body, saved) {
			t.Errorf("%s: cross-site GET with the cookie: %d %s", c.name, r.Status, r.Body)
		}
	}

	// A non-browser client (no Origin, no Sec-Fetch-Site) with its bearer
	// token is not affected; neither is a page the user opened directly.
	r = sendRaw(t, f.TestMain, "PUT", f.draft, save(tours.Dossier.Version, "Saved by a script."), bearer(tours.Token))
	if r.Status != 200 {
		t.Fatalf("API client PUT: %d %s", r.Status, r.Body)
	}
	json.Unmarshal(r.Body, &tours.Dossier)
	r = sendRaw(t, f.TestMain, "PUT", f.draft, save(tours.Dossier.Version, "Typed in the address bar."), f.browser("none", ""))
	if r.Status != 200 {
		t.Fatalf("PUT with Sec-Fetch-Site none: %d %s", r.Status, r.Body)
	}
	if d := f.dossier(tours.Dossier.ID, tours.Token); d.Version != 6 || d.Sections["vision"] != "Typed in the address bar." {
		t.Fatalf("after the allowed writes: v%d %q", d.Version, d.Sections["vision"])
	}
}

// getRoutes are the routes web/server.go registers for GET, as written
// there ("/healthz", "/api/v1/calls/{call}", …).
func getRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "web", "server.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`HandleFunc\((api\s*\+\s*)?"([^"]+)",[^)]*\)\.Methods\(http\.MethodGet\)`)
	var routes []string
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		path := m[2]
		if m[1] != "" {
			path = "/api/v1" + path
		}
		routes = append(routes, path)
	}
	if n := strings.Count(string(src), "Methods(http.MethodGet)"); n != len(routes) || n < 10 {
		t.Fatalf("found %d GET routes of %d in web/server.go: %q", len(routes), n, routes)
	}
	return routes
}

func TestCSRF_NoRouteChangesStateOnGET(t *testing.T) {
	f := newCSRFFixture(t)
	// Something for every route to show: a submitted dossier with a file, a
	// draft with a file, an evaluator.
	f.MustDo(200, "PUT", f.draft, f.tours.Token, completeDraft(1, "Tours"), &f.tours.Dossier)
	r := sendRaw(t, f.TestMain, "POST", f.draft+"/attachments/letter?name=letter.pdf", demoPDF("Tours"), bearer(f.tours.Token))
	if r.Status != 201 || json.Unmarshal(r.Body, &f.tours.Dossier) != nil {
		t.Fatalf("upload Tours's letter: %d %s", r.Status, r.Body)
	}
	f.move(f.tours.Token, &f.tours.Dossier, "submit", "", "submitted")
	caen := f.newCity("Caen", "FR", "Music")
	f.startDossier(caen, "csrf")
	r = sendRaw(t, f.TestMain, "POST", "/api/v1/applications/"+caen.Dossier.ID+"/attachments/letter?name=letter.pdf", demoPDF("Caen"), bearer(caen.Token))
	if r.Status != 201 {
		t.Fatalf("upload Caen's letter: %d %s", r.Status, r.Body)
	}
	f.MustUser("expert@example.org", engine.RoleEvaluator, "PT", "")
	commission := f.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")

	vars := strings.NewReplacer("{call}", "csrf", "{id}", f.tours.Dossier.ID, "{slot}", "letter", "{n}", "1")
	callers := []struct {
		name   string
		header map[string]string
	}{
		{"secretariat", bearer(f.secretariat)},
		{"admin", bearer(f.admin)},
		{"commission", bearer(commission)},
		{"applicant", bearer(caen.Token)},
		{"public", nil},
		{"cookie, cross-site", f.browser("cross-site", "https://evil.example")},
	}
	routes := getRoutes(t)
	for _, route := range routes {
		path := vars.Replace(route)
		if strings.Contains(path, "{") {
			t.Fatalf("GET %s: no value for its variables", route)
		}
		paths := []string{path}
		switch route {
		case "/api/v1/applications":
			paths = append(paths, path+"?call=csrf&state=submitted&country=FR&field=Film&limit=1", path+"?limit=1&cursor="+f.tours.Dossier.ID)
		case "/api/v1/audit":
			paths = append(paths, path+"?limit=1")
		case "/api/v1/calls/{call}/ranking":
			paths = []string{path + "?field=Film"}
		case "/api/v1/applications/{id}", "/api/v1/applications/{id}/history",
			"/api/v1/applications/{id}/attachments", "/api/v1/applications/{id}/attachments/{slot}/{n}":
			paths = append(paths, strings.Replace(path, f.tours.Dossier.ID, caen.Dossier.ID, 1))
		}
		for _, p := range paths {
			for _, c := range callers {
				before := dumpDB(t, f.TestMain)
				r := sendRaw(t, f.TestMain, "GET", p, nil, c.header)
				if r.Status >= 500 || r.Status == 405 {
					t.Errorf("GET %s as %s: status %d; body %s", p, c.name, r.Status, r.Body)
				}
				// The secretariat reads everything but accounts, the audit
				// log, the backup, results before the announcement, an
				// evaluator's own review and list, and drafts.
				refused := route == "/api/v1/users" || route == "/api/v1/audit" || route == "/api/v1/admin/backup" || route == "/api/v1/calls/{call}/results" ||
					route == "/api/v1/applications/{id}/review" || route == "/api/v1/me/assignments" || // an evaluator's own
					strings.Contains(p, caen.Dossier.ID)
				if c.name == "secretariat" && (r.Status == 200) == refused {
					t.Errorf("GET %s as the secretariat: status %d; body %s", p, r.Status, r.Body)
				}
				mustSameDB(t, "GET "+p+" as "+c.name, before, dumpDB(t, f.TestMain))
			}
		}
	}
	t.Logf("%d GET routes checked: %v", len(routes), routes)
}
