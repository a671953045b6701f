package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"designate/engine"
)

// The browser harness tests itself: against the real server, on pages it
// makes up, and with an accessibility checker that must be able to fail.

// dataPage is a data: URL showing html.
func dataPage(html string) string {
	return "data:text/html;charset=utf-8," + url.PathEscape(html)
}

// pixel is a 1×1 PNG.
const pixel = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="

// TestBrowserHarness opens the real server's health check in Chromium and
// keeps a screenshot of it.
func TestBrowserHarness(t *testing.T) {
	b := MustBrowser(t) // first: without Chromium, skip before starting anything
	tm := MustRunMain(t, false)

	if st := b.MustNavigate(tm.URL() + "/healthz"); st != http.StatusOK {
		t.Fatalf("GET /healthz in the browser: status %d, want 200", st)
	}
	b.MustSee("ok")
	if got := b.MustLocation(); got != tm.URL()+"/healthz" {
		t.Errorf("location %q, want %q", got, tm.URL()+"/healthz")
	}
	if size := MustEval[[]int](b, `[window.innerWidth, window.innerHeight]`); !slices.Equal(size, []int{viewportWidth, viewportHeight}) {
		t.Errorf("viewport %v, want %dx%d", size, viewportWidth, viewportHeight)
	}
	b.Step("healthz")

	file := filepath.Join(screenshotDir(t), "01-healthz.png")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the step's screenshot: %v", err)
	}
	if !bytes.HasPrefix(raw, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s is not a PNG", file)
	}
}

// TestBrowserAccessibilityChecker runs axe-core on a page with known serious
// violations, which it must report with their elements, and on a clean page,
// which it must pass.
func TestBrowserAccessibilityChecker(t *testing.T) {
	b := MustBrowser(t)

	b.MustNavigate(dataPage(`<!doctype html><html lang="en"><head><title>Broken</title></head>
<body><main><h1>Broken</h1>
<img id="logo" src="` + pixel + `">
<form><input id="q" name="q"><button>Search</button></form>
</main></body></html>`))
	vs, err := b.AxeViolations()
	if err != nil {
		t.Fatal(err)
	}
	serious := seriousViolations(vs)
	want := map[string]string{"image-alt": "#logo", "label": "#q"}
	for id, target := range want {
		i := slices.IndexFunc(serious, func(v AxeViolation) bool { return v.ID == id })
		if i < 0 {
			t.Errorf("axe did not report %s among the serious violations; it reported:%s", id, formatViolations(vs))
			continue
		}
		v := serious[i]
		if len(v.Nodes) != 1 || !slices.Equal(v.Nodes[0].Target, []string{target}) || v.Help == "" {
			t.Errorf("%s: got %+v, want one element, %s, and a help text", id, v, target)
		}
		if msg := formatViolations(serious); !strings.Contains(msg, id+" ("+v.Impact+"): "+v.Help) || !strings.Contains(msg, target) {
			t.Errorf("the failure message does not name %s, its help and %s:%s", id, target, msg)
		}
	}
	b.Step("broken-page")

	b.MustNavigate(dataPage(`<!doctype html><html lang="en"><head><title>Clean</title></head>
<body><main><h1>Clean</h1>
<img src="` + pixel + `" alt="A dot">
<form><label for="q">Search</label> <input id="q" name="q"><button>Search</button></form>
</main></body></html>`))
	vs, err = b.AxeViolations()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 0 {
		t.Errorf("axe reported violations on the clean page:%s", formatViolations(vs))
	}
	b.MustAccessible("the clean page")
}

// TestBrowserTwoUsers signs two users in at once, in two browser contexts of
// one browser, and checks that each has its own session cookie.
func TestBrowserTwoUsers(t *testing.T) {
	city := MustBrowser(t)
	tm := MustRunMain(t, false)
	tm.MustUser("cannes@example.org", engine.RoleApplicant, "FR", "Cannes")
	tm.MustUser("commission-fr@example.org", engine.RoleCommission, "FR", "")
	commission := city.NewUser("commission")
	stranger := city.NewUser("stranger")

	login := func(b *Browser, email string) {
		t.Helper()
		b.MustNavigate(tm.URL() + "/healthz")
		js := fmt.Sprintf(`fetch("/api/v1/login", {method: "POST", headers: {"Content-Type": "application/json"},
			body: JSON.stringify({email: %s, password: %s, session_cookie: true})}).then(r => r.status)`,
			jsString(email), jsString(testPassword))
		if st := MustEval[int](b, js); st != http.StatusOK {
			t.Fatalf("sign in %s from the page: status %d", email, st)
		}
	}
	me := func(b *Browser) string {
		t.Helper()
		return MustEval[string](b, `fetch("/api/v1/me").then(r => r.ok ? r.json().then(u => u.email + " " + u.role) : "status " + r.status)`)
	}
	login(city, "cannes@example.org")
	login(commission, "commission-fr@example.org")
	stranger.MustNavigate(tm.URL() + "/healthz")

	if got := me(city); got != "cannes@example.org applicant" {
		t.Errorf("the city's browser is %q", got)
	}
	if got := me(commission); got != "commission-fr@example.org commission" {
		t.Errorf("the commission's browser is %q", got)
	}
	if got := me(stranger); got != "status 401" {
		t.Errorf("a third user, never signed in, is %q, want status 401", got)
	}
	city.Step("signed-in")
	commission.Step("signed-in")
}

// TestBrowserHelpers drives a small form with every helper: typing, a long
// text, a select, a file, a confirm() dialog dismissed then accepted, and
// the page a POST redirects to.
func TestBrowserHelpers(t *testing.T) {
	var mu sync.Mutex
	var got []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><html lang="en"><head><title>Form</title></head><body><main>
<h1>A form</h1>
<form method="post" action="/form" enctype="multipart/form-data" onsubmit="return confirm('Send the form?')">
<p><label for="name">Name</label> <input id="name" name="name" value="old name" oninput="document.getElementById('echo').textContent = this.value"></p>
<p id="echo" aria-live="polite"></p>
<p><label for="text">Text</label> <textarea id="text" name="text">old text</textarea></p>
<p><label for="field">Field</label> <select id="field" name="field"><option>Film</option><option>Music</option></select></p>
<p><label for="file">File</label> <input id="file" name="file" type="file"></p>
<p><button id="send">Send</button></p>
</form></main></body></html>`)
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		f, h, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(f)
		mu.Lock()
		got = []string{r.FormValue("name"), r.FormValue("text"), r.FormValue("field"), h.Filename, string(body)}
		mu.Unlock()
		http.Redirect(w, r, "/done", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><html lang="en"><head><title>Done</title></head><body><main><h1 id="done">Sent, thank you</h1></main></body></html>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	file := filepath.Join(t.TempDir(), "letter.txt")
	if err := os.WriteFile(file, []byte("Dear Secretariat"), 0o644); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Cannes puts film at the heart of the city.\n", 200)

	b := MustBrowser(t)
	if st := b.MustNavigate(srv.URL + "/form"); st != http.StatusOK {
		t.Fatalf("GET /form: status %d", st)
	}
	b.MustAccessible("the form")
	b.MustFill("#name", "Cannes, France")
	if got := b.MustText("#echo"); got != "Cannes, France" {
		t.Errorf("typing fired input events showing %q, want %q", got, "Cannes, France")
	}
	b.MustSetValue("#text", long)
	b.MustSelect("#field", "Music")
	b.MustUpload("#file", file)
	b.Step("filled")

	cancelled := b.DismissNextDialog()
	b.MustClick("#send")
	if msg := cancelled(); msg != "Send the form?" {
		t.Errorf("dialog %q, want %q", msg, "Send the form?")
	}
	b.MustSee("A form") // cancelled: still on the form
	mu.Lock()
	if got != nil {
		t.Errorf("the form was sent although the confirm() was cancelled: %q", got)
	}
	mu.Unlock()

	accepted := b.AcceptNextDialog()
	if st := b.MustClickNavigate("#send"); st != http.StatusOK {
		t.Errorf("the page after the POST: status %d", st)
	}
	accepted()
	if got := b.MustText("#done"); got != "Sent, thank you" {
		t.Errorf("after sending: %q", got)
	}
	b.MustNotSee("A form")
	if loc := b.MustLocation(); loc != srv.URL+"/done" {
		t.Errorf("location %q, want %s/done", loc, srv.URL)
	}
	b.Step("sent")

	mu.Lock()
	defer mu.Unlock()
	// A browser sends a textarea's line breaks as CRLF.
	want := []string{"Cannes, France", strings.ReplaceAll(long, "\n", "\r\n"), "Music", "letter.txt", "Dear Secretariat"}
	if !slices.Equal(got, want) {
		t.Errorf("the server got %q,\nwant %q", clipAll(got), clipAll(want))
	}
}

func clipAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clip(s, 60)
	}
	return out
}
