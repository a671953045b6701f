package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The real-browser harness: a headless Chromium (Debian's package) driven
// with chromedp, for end-to-end tests of the pages. A test starts one with
// MustBrowser, which is one signed-out user in a fresh profile; NewUser adds
// another user with its own cookies in the same browser, so the city and the
// commission can be signed in at once. Every helper fails the test with the
// page's address and a screenshot instead of returning an error.
//
// Environment:
//
//	DESIGNATE_CHROMIUM          the browser to run (default /usr/bin/chromium,
//	                            else chromium, chromium-browser or google-chrome
//	                            on the PATH)
//	DESIGNATE_REQUIRE_BROWSER=1 a missing browser fails the test (CI sets it);
//	                            otherwise the test is skipped
//	DESIGNATE_ARTIFACTS         where screenshots go (default <repo>/artifacts;
//	                            a relative path is from the repository's root):
//	                            screenshots/<TestName>/<NN>-<step>.png
//	DESIGNATE_BROWSER_TIMEOUT   the browser's whole budget in one test (a Go
//	                            duration, default 60s): a hung page fails the
//	                            test instead of hanging the suite
//
// chromedp here is the generic API (v0.21 and later): actions return their
// values (chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))), steps
// without a value go through chromedp.Do, and a plain string selector is a
// DOM search, not CSS; the helpers take CSS selectors. A test needing
// something the helpers lack uses Context() with chromedp directly.

// axeSource is axe-core's browser bundle (testdata/axe/README.txt).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

const (
	// browserBudget is how long a test may use its browser at most, from
	// MustBrowser on; DESIGNATE_BROWSER_TIMEOUT changes it.
	browserBudget = 60 * time.Second
	// actionTimeout bounds each helper: a selector that never matches or a
	// page that never loads fails after this, naming what it waited for.
	actionTimeout = 15 * time.Second
	// viewportWidth and viewportHeight are the window every page is shown in.
	viewportWidth, viewportHeight = 1280, 900
)

// chromiumFlags are the switches every browser starts with, besides
// chromedp's defaults (headless, no first run, no background networking,
// no sync, no dev-shm, no extensions, ...). This machine's network is
// closed, so nothing may try to reach the outside: no QUIC, no component
// updates.
var chromiumFlags = []chromedp.ExecAllocatorOption{
	chromedp.Headless,
	chromedp.NoSandbox, // root in a container: the sandbox needs namespaces
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.NoFirstRun,
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.WindowSize(viewportWidth, viewportHeight),
}

// Browser is one user in a real browser: a tab in a browser context of its
// own (its own cookies and storage). Its methods fail the test that made it;
// use a Browser only from that test's goroutine.
type Browser struct {
	t     *testing.T
	label string          // the user's name in step names and messages ("" for the first)
	ctx   context.Context // the tab; actions derive their timeouts from it
	run   *browserRun

	mu     sync.Mutex
	dialog chan<- string // set by AcceptNextDialog/DismissNextDialog until a dialog comes
	accept bool
}

// browserRun is what a test's users share: the browser process, the budget,
// the step counter and whether the test is over (after which nothing may log).
type browserRun struct {
	t      *testing.T
	root   context.Context // the browser's first tab (about:blank); users are children
	budget time.Duration

	mu    sync.Mutex
	steps int
	over  bool
	users []context.CancelFunc
}

var (
	chromiumOnce sync.Once
	chromiumPath string
	chromiumErr  error
)

// findChromium is the browser to run, looked up once per test binary.
func findChromium() (string, error) {
	chromiumOnce.Do(func() {
		if p := os.Getenv("DESIGNATE_CHROMIUM"); p != "" {
			if _, err := exec.LookPath(p); err != nil {
				chromiumErr = fmt.Errorf("Chromium not found at DESIGNATE_CHROMIUM=%s", p)
				return
			}
			chromiumPath = p
			return
		}
		for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
			if full, err := exec.LookPath(p); err == nil {
				chromiumPath = full
				return
			}
		}
		chromiumErr = errors.New("Chromium not found (/usr/bin/chromium)")
	})
	return chromiumPath, chromiumErr
}

// MustBrowser starts a headless Chromium for the test, with a fresh profile
// in a temporary directory, and returns its first user, signed out on
// about:blank. Without Chromium the test is skipped, or fails when
// DESIGNATE_REQUIRE_BROWSER=1. The browser stops when the test ends, or when
// its budget (60 s) runs out.
func MustBrowser(t *testing.T) *Browser {
	t.Helper()
	path, err := findChromium()
	if err != nil {
		if os.Getenv("DESIGNATE_REQUIRE_BROWSER") == "1" {
			t.Fatalf("browser tests: %v and DESIGNATE_REQUIRE_BROWSER=1 (apt-get install chromium, or set DESIGNATE_CHROMIUM)", err)
		}
		t.Skipf("browser tests skipped: %v (apt-get install chromium; set DESIGNATE_REQUIRE_BROWSER=1 to make this a failure)", err)
	}

	budget := browserBudget
	if s := os.Getenv("DESIGNATE_BROWSER_TIMEOUT"); s != "" {
		if budget, err = time.ParseDuration(s); err != nil || budget <= 0 {
			t.Fatalf("DESIGNATE_BROWSER_TIMEOUT=%q: want a positive Go duration such as 90s", s)
		}
	}
	deadline := time.Now().Add(budget)
	if d, ok := t.Deadline(); ok && d.Add(-5*time.Second).Before(deadline) {
		deadline = d.Add(-5 * time.Second) // fail before go test's own timeout panics
	}
	profile := t.TempDir() // registered first, so removed after the browser stops

	budgetCtx, cancelBudget := context.WithDeadline(context.Background(), deadline)
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(path)}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromiumFlags...)
	opts = append(opts, chromedp.UserDataDir(profile))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(budgetCtx, opts...)

	run := &browserRun{t: t, budget: budget}
	logf := func(format string, args ...any) { run.logf("chromedp: "+format, args...) }
	root, cancelRoot := chromedp.NewContext(allocCtx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	run.root = root
	t.Cleanup(func() {
		run.mu.Lock()
		run.over = true
		users := run.users
		run.mu.Unlock()
		for i := len(users) - 1; i >= 0; i-- {
			users[i]() // closes the tab and its browser context
		}
		// Close Chromium gracefully, then make sure it is gone.
		ctx, cancel := context.WithTimeout(root, 5*time.Second)
		_ = chromedp.Cancel(ctx)
		cancel()
		cancelRoot()
		cancelAlloc() // waits for the process to exit
		cancelBudget()
	})

	start := time.Now()
	if err := chromedp.Do(root); err != nil { // starts the browser; no timeout on this first run
		t.Fatalf("start %s: %v", path, err)
	}
	b := run.newUser("")
	t.Logf("browser: %s started in %v", path, time.Since(start).Round(time.Millisecond))
	return b
}

// NewUser is another user in the same browser, at the same time: a tab in a
// new browser context, so it shares no cookies or storage with the others.
// The label names its screenshots ("commission" gives 03-commission-<step>).
func (b *Browser) NewUser(label string) *Browser {
	b.t.Helper()
	return b.run.newUser(label)
}

func (r *browserRun) newUser(label string) *Browser {
	r.t.Helper()
	ctx, cancel := chromedp.NewContext(r.root, chromedp.WithNewBrowserContext())
	r.mu.Lock()
	r.users = append(r.users, cancel)
	r.mu.Unlock()
	b := &Browser{t: r.t, label: label, ctx: ctx, run: r}
	// The first run opens the tab; it has no timeout, so that the tab lives
	// until the test ends (or the budget does).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(viewportWidth, viewportHeight)); err != nil {
		b.fatalf("open a tab for user %q: %v", label, err)
	}
	go b.handleDialogs(chromedp.Events(ctx, page.JavascriptDialogOpening))
	return b
}

// logf logs unless the test is over (testing panics on a late log).
func (r *browserRun) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.over {
		r.t.Logf(format, args...)
	}
}

// errorf fails the test from any goroutine, unless the test is over.
func (r *browserRun) errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.over {
		r.t.Errorf(format, args...)
	}
}

// Context is the user's tab, for chromedp actions the helpers lack; derive
// a timeout from it for each action (context.WithTimeout), never for the
// tab itself.
func (b *Browser) Context() context.Context { return b.ctx }

// who names the user in messages.
func (b *Browser) who() string {
	if b.label == "" {
		return "browser"
	}
	return "browser (" + b.label + ")"
}

// do runs chromedp steps with the action timeout.
func (b *Browser) do(steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	return b.explain(chromedp.Do(ctx, steps...))
}

// runAction runs one chromedp action with the action timeout.
func runAction[T any](b *Browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	return v, b.explain(err)
}

// explain makes a timeout say which limit ran out.
func (b *Browser) explain(err error) error {
	switch {
	case err == nil:
	case errors.Is(b.ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: the test's browser budget (%v, DESIGNATE_BROWSER_TIMEOUT) ran out", err, b.run.budget)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: nothing happened within %v (no element matching? a page that never loads?)", err, actionTimeout)
	}
	return err
}

// fatalf fails the test with the page's address and a screenshot of it.
func (b *Browser) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if b.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
			msg += "\npage: " + clip(loc, 300)
		}
		cancel()
		if file, err := b.screenshot("failed"); err == nil {
			msg += "\nscreenshot: " + file
		}
	}
	b.t.Fatalf("%s: %s", b.who(), msg)
}

// MustNavigate opens url and waits for it to load; it returns the HTTP
// status of the document (0 for a data: URL), without judging it.
func (b *Browser) MustNavigate(url string) int {
	b.t.Helper()
	resp, err := runAction(b, chromedp.NavigateResponse(url))
	if err != nil {
		b.fatalf("navigate to %s: %v", url, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// MustLocation is the address of the current page.
func (b *Browser) MustLocation() string {
	b.t.Helper()
	loc, err := runAction(b, chromedp.Location())
	if err != nil {
		b.fatalf("location: %v", err)
	}
	return loc
}

// MustClick clicks the first element matching the CSS selector, once it is
// visible. It does not wait for a page the click may load: use
// MustClickNavigate for links and submit buttons.
func (b *Browser) MustClick(selector string) {
	b.t.Helper()
	if err := b.do(chromedp.Click(chromedp.CSS(selector))); err != nil {
		b.fatalf("click %s: %v", selector, err)
	}
}

// MustClickNavigate clicks the first element matching the CSS selector and
// waits for the page the click loads (after any redirect, as with a form
// answered by 303); it returns that page's HTTP status.
func (b *Browser) MustClickNavigate(selector string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector)))
	if err = b.explain(err); err != nil {
		b.fatalf("click %s and wait for the next page: %v", selector, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// MustText is the visible text (innerText) of the first element matching
// the CSS selector, trimmed.
func (b *Browser) MustText(selector string) string {
	b.t.Helper()
	s, err := runAction(b, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		b.fatalf("text of %s: %v", selector, err)
	}
	return strings.TrimSpace(s)
}

// bodyText is the page's visible text.
func (b *Browser) bodyText() (string, error) {
	return runAction(b, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
}

// MustSee waits (up to the action timeout) until the page's visible text
// contains text; otherwise it fails, printing the text it saw.
func (b *Browser) MustSee(text string) {
	b.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	var body string
	var err error
	for {
		body, err = b.bodyText()
		if err == nil && strings.Contains(body, text) {
			return
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		b.fatalf("want to see %q; reading the page: %v", text, err)
	}
	b.fatalf("want to see %q on the page; it shows:\n%s", text, clip(body, 4000))
}

// MustNotSee fails if the page's visible text contains text now.
func (b *Browser) MustNotSee(text string) {
	b.t.Helper()
	body, err := b.bodyText()
	if err != nil {
		b.fatalf("reading the page: %v", err)
	}
	if strings.Contains(body, text) {
		b.fatalf("the page shows %q, which it must not:\n%s", text, clip(body, 4000))
	}
}

// MustFill types value into the input or textarea matching the CSS
// selector, as a person would (key by key, so the page's input handlers
// run), after emptying it. A "\n" is the Enter key: in an input it submits
// the form. For long text use MustSetValue.
func (b *Browser) MustFill(selector, value string) {
	b.t.Helper()
	if err := b.setValue(selector, ""); err != nil {
		b.fatalf("fill %s: %v", selector, err)
	}
	if err := b.do(chromedp.SendKeys(chromedp.CSS(selector), value)); err != nil {
		b.fatalf("type into %s: %v", selector, err)
	}
}

// MustSetValue sets the value of the input, textarea or select matching the
// CSS selector at once, then fires its input and change events as typing
// would: for long text, where MustFill would type for seconds.
func (b *Browser) MustSetValue(selector, value string) {
	b.t.Helper()
	if err := b.setValue(selector, value); err != nil {
		b.fatalf("set the value of %s: %v", selector, err)
	}
}

// MustSelect chooses the option with the value in the select matching the
// CSS selector, failing if it has no such option.
func (b *Browser) MustSelect(selector, value string) {
	b.t.Helper()
	if err := b.setValue(selector, value); err != nil {
		b.fatalf("select %q in %s: %v", value, selector, err)
	}
}

// setValue sets an element's value and fires input and change, after
// waiting for the element; for a select, the value must be an option's.
func (b *Browser) setValue(selector, value string) error {
	if err := b.do(chromedp.WaitReady(chromedp.CSS(selector))); err != nil {
		return err
	}
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) return "no element matches";
		if (!("value" in el)) return "a <" + el.localName + "> has no value";
		el.focus();
		el.value = %s;
		if (el.value !== %[2]s) return "it keeps the value " + JSON.stringify(el.value) + " (no such option?)";
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return "";
	})()`, jsString(selector), jsString(value))
	problem, err := runAction(b, chromedp.Evaluate[string](js))
	if err != nil {
		return err
	}
	if problem != "" {
		return errors.New(problem)
	}
	return nil
}

// MustUpload puts the files into the file input matching the CSS selector,
// as choosing them in the file dialog would (its change event fires).
func (b *Browser) MustUpload(selector string, paths ...string) {
	b.t.Helper()
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err == nil {
			_, err = os.Stat(a)
		}
		if err != nil {
			b.fatalf("upload %s into %s: %v", p, selector, err)
		}
		abs[i] = a
	}
	if err := b.do(chromedp.SetUploadFiles(chromedp.CSS(selector), abs)); err != nil {
		b.fatalf("upload %v into %s: %v", paths, selector, err)
	}
}

// AcceptNextDialog makes the browser accept (OK) the next alert, confirm
// or prompt; call it before the action that opens the dialog. The func it
// returns waits for that dialog and returns its message, failing the test
// if none came. A dialog nobody expected fails the test and is dismissed,
// so that it never hangs the page.
func (b *Browser) AcceptNextDialog() (message func() string) {
	b.t.Helper()
	return b.nextDialog(true)
}

// DismissNextDialog is AcceptNextDialog pressing Cancel.
func (b *Browser) DismissNextDialog() (message func() string) {
	b.t.Helper()
	return b.nextDialog(false)
}

func (b *Browser) nextDialog(accept bool) func() string {
	ch := make(chan string, 1)
	b.mu.Lock()
	if b.dialog != nil {
		b.mu.Unlock()
		b.fatalf("a dialog is already expected")
	}
	b.dialog, b.accept = ch, accept
	b.mu.Unlock()
	return func() string {
		b.t.Helper()
		select {
		case msg := <-ch:
			return msg
		case <-time.After(actionTimeout):
			b.mu.Lock()
			b.dialog = nil
			b.mu.Unlock()
			b.fatalf("no dialog opened within %v", actionTimeout)
		case <-b.ctx.Done():
			b.fatalf("no dialog opened: %v", b.explain(b.ctx.Err()))
		}
		return ""
	}
}

// handleDialogs answers each dialog of the tab as AcceptNextDialog or
// DismissNextDialog asked, or dismisses it and fails the test. A dialog
// blocks the page and the action that opened it (a click waits for the
// click handler), hence this goroutine.
func (b *Browser) handleDialogs(events iter.Seq2[page.EventJavascriptDialogOpening, error]) {
	for ev, err := range events {
		if err != nil {
			return // the tab closed
		}
		b.mu.Lock()
		ch, accept := b.dialog, b.accept
		b.dialog = nil
		b.mu.Unlock()
		if ch == nil {
			accept = false
			b.run.errorf("%s: unexpected %s dialog %q on %s, dismissed (call AcceptNextDialog before the action that opens it)", b.who(), ev.Type, ev.Message, ev.URL)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		_, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		cancel()
		if err != nil {
			b.run.errorf("%s: answer the dialog %q: %v", b.who(), ev.Message, err)
		}
		if ch != nil {
			ch <- ev.Message
		}
	}
}

// Step saves a full-page PNG of the current page as a test artifact:
// <artifacts>/screenshots/<TestName>/<NN>-<name>.png, numbered in the order
// of the test's steps (across its users).
func (b *Browser) Step(name string) {
	b.t.Helper()
	file, err := b.screenshot(name)
	if err != nil {
		b.fatalf("step %q: screenshot: %v", name, err)
	}
	b.t.Logf("step: %s", file)
}

// screenshot saves a full-page PNG named after the next step number.
func (b *Browser) screenshot(name string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", b.explain(err)
	}
	dir := screenshotDir(b.t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if b.label != "" {
		name = b.label + "-" + name
	}
	b.run.mu.Lock()
	b.run.steps++
	n := b.run.steps
	b.run.mu.Unlock()
	file := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", n, fileSafe(name)))
	return file, os.WriteFile(file, png, 0o644)
}

// screenshotsCleared records the tests whose screenshot directory was
// emptied in this run, so that a rerun leaves no stale steps behind.
var screenshotsCleared sync.Map

// screenshotDir is where t's screenshots go, emptied on first use.
func screenshotDir(t *testing.T) string {
	root := os.Getenv("DESIGNATE_ARTIFACTS")
	if root == "" {
		root = "artifacts"
	}
	if !filepath.IsAbs(root) {
		root = filepath.Join(repoRoot(t), root) // not the package directory go test runs in
	}
	parts := strings.Split(t.Name(), "/") // a subtest is a directory in its test's
	for i, p := range parts {
		parts[i] = fileSafe(p)
	}
	dir := filepath.Join(append([]string{root, "screenshots"}, parts...)...)
	if _, done := screenshotsCleared.LoadOrStore(dir, true); !done {
		os.RemoveAll(dir)
	}
	return dir
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileSafe makes s a file name: letters, digits, '.', '_' and '-'.
func fileSafe(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "-"), "-.")
	if s == "" {
		s = "step"
	}
	return s
}

// AxeViolation is one rule of axe-core the page breaks, with the elements
// that break it.
type AxeViolation struct {
	ID      string    `json:"id"`     // the rule, e.g. "image-alt"
	Impact  string    `json:"impact"` // "minor", "moderate", "serious" or "critical"
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []AxeNode `json:"nodes"`
}

// AxeNode is one element breaking a rule.
type AxeNode struct {
	Target  []string `json:"target"` // CSS selectors, one per frame or shadow root
	HTML    string   `json:"html"`
	Summary string   `json:"failureSummary"`
}

// axeRun runs axe-core on the document and returns its violations, in a
// shape Go decodes (a target inside a shadow root is a list; it is joined).
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
	nodes: v.nodes.map(n => ({
		target: n.target.map(t => Array.isArray(t) ? t.join(" >>> ") : String(t)),
		html: n.html, failureSummary: n.failureSummary || "",
	})),
})))`

// AxeViolations injects axe-core into the current page (once per document;
// the DevTools protocol evaluates it, so the page's Content-Security-Policy
// does not apply) and returns every violation it finds, of any impact.
func (b *Browser) AxeViolations() ([]AxeViolation, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 2*actionTimeout) // axe takes seconds on a big page
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, b.explain(err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", b.explain(err))
		}
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]AxeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe.run: %w", b.explain(err))
	}
	return vs, nil
}

// seriousViolations keeps the violations whose impact is serious or
// critical, the ones MustAccessible fails on.
func seriousViolations(vs []AxeViolation) []AxeViolation {
	var out []AxeViolation
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v)
		}
	}
	return out
}

// formatViolations lists violations for people: rule, impact, help and the
// selector of each element.
func formatViolations(vs []AxeViolation) string {
	var sb strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&sb, "\n  %s (%s): %s <%s>", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&sb, "\n    %s  %s", strings.Join(n.Target, " "), clip(n.HTML, 200))
		}
	}
	return sb.String()
}

// MustAccessible runs axe-core on the current page and fails the test on
// every serious or critical violation, naming the page as name (for
// people, e.g. "dossier form").
func (b *Browser) MustAccessible(name string) {
	b.t.Helper()
	vs, err := b.AxeViolations()
	if err != nil {
		b.fatalf("accessibility check of %s: %v", name, err)
	}
	if bad := seriousViolations(vs); len(bad) > 0 {
		b.fatalf("accessibility: %s has %d serious or critical axe-core violations:%s", name, len(bad), formatViolations(bad))
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	raw, _ := json.Marshal(s) // a string always marshals
	return string(raw)
}

// clip shortens s to n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d more bytes)", len(s)-n)
}

// MustEval evaluates a JavaScript expression in the user's page, waiting
// for it when it is a promise, and decodes its JSON value into T.
func MustEval[T any](b *Browser, expression string) T {
	b.t.Helper()
	v, err := runAction(b, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("evaluate %s: %v", clip(expression, 200), err)
	}
	return v
}
