package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"designate/engine"
)

// The pages: html/template files and translations, embedded in the binary
// and parsed once at start-up, so a broken template stops the server from
// starting instead of failing one visitor.
var (
	//go:embed templates/*.html
	templateFiles embed.FS
	//go:embed static
	staticFiles embed.FS
	//go:embed i18n/*.json
	translationFiles embed.FS
)

// pageSet is every page, each parsed with the layout it fills.
type pageSet map[string]*template.Template

// Files whose name starts with "_" are partials every page may use.
func parsePages(extra template.FuncMap) (pageSet, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	partials, err := fs.Glob(templateFiles, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"homeOf":  homeOf,
		"fieldID": fieldID,
		"words":   engine.WordCount,
		"add":     func(a, b int) int { return a + b },
		"bytes":   func(n int64) string { return engine.ByteSize(n).String() },
		"size":    func(n engine.ByteSize) string { return n.String() },
		"state":   func(s engine.State) string { return string(s) },
		"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pathEq":  func(a, b string) bool { return a == b },
	}
	for k, v := range extra {
		funcs[k] = v
	}
	pages := pageSet{}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		files := append([]string{"templates/layout.html", name}, partials...)
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, files...)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

// Languages of the pages.
const (
	english = "en"
	french  = "fr"
)

// catalog is every translation, by language then key.
type catalog map[string]map[string]string

func loadCatalog() (catalog, error) {
	c := catalog{}
	for _, lang := range []string{english, french} {
		raw, err := translationFiles.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("i18n/%s.json: %w", lang, err)
		}
		c[lang] = m
	}
	// Every key in both languages: a page must never show a key. The
	// engine's field messages ("msg.") are English in the engine itself,
	// so the catalogs hold only their other languages.
	for k := range c[english] {
		if _, ok := c[french][k]; !ok {
			return nil, fmt.Errorf("i18n: %q has no French translation", k)
		}
	}
	for k := range c[french] {
		if _, ok := c[english][k]; !ok && !strings.HasPrefix(k, "msg.") {
			return nil, fmt.Errorf("i18n: %q has no English text", k)
		}
	}
	return c, nil
}

// tr translates for one reader.
type tr struct {
	lang string
	c    catalog
}

// S is the text of key, formatted with args (fmt verbs).
func (t tr) S(key string, args ...any) string {
	msg, ok := t.c[t.lang][key]
	if !ok {
		msg, ok = t.c[english][key]
	}
	if !ok {
		return key // the catalog test keeps this from reaching a page
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// N is the text of key for a count: key+".one" for a singular count when the
// catalog has it, key otherwise, formatted with n then args.
func (t tr) N(key string, n int, args ...any) string {
	// French counts zero as singular ("0 ville"), English as plural.
	if (n == 1 || (n == 0 && t.lang == french)) && t.Has(key+".one") {
		key += ".one"
	}
	return t.S(key, append([]any{n}, args...)...)
}

// Text is an engine's message about an input in the reader's language:
// a call's title in its own language, sizes in its own units.
func (t tr) Text(text engine.Text) string {
	args := make([]any, len(text.Args))
	for i, a := range text.Args {
		switch v := a.(type) {
		case engine.Localized:
			args[i] = t.Title(v)
		case engine.ByteSize:
			args[i] = t.Size(v)
		case engine.FieldName:
			args[i] = t.Field(string(v))
		default:
			args[i] = v
		}
	}
	return t.S("msg."+text.Key, args...)
}

// Has reports whether key has a translation.
func (t tr) Has(key string) bool { _, ok := t.c[t.lang][key]; return ok }

// Bytes writes a size with the language's units (octets, ko, Mo).
func (t tr) Bytes(n int64) string { return t.Size(engine.ByteSize(n)) }

// Size writes a size with the language's units.
func (t tr) Size(n engine.ByteSize) string {
	s := n.String()
	if t.lang == french {
		s = strings.NewReplacer(" bytes", " octets", " kB", " ko", " KiB", " Kio", " MB", " Mo", " MiB", " Mio", " GB", " Go", ".", ",").Replace(s)
	}
	return s
}

// Title is the localized text of a call's title pair.
func (t tr) Title(l engine.Localized) string {
	if t.lang == french && l.FR != "" {
		return l.FR
	}
	return l.EN
}

// Dec is a mean or a spread to two decimals, with the reader's decimal
// mark; "—" when there is none yet.
func (t tr) Dec(v any) string {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case *float64:
		if x == nil {
			return "—"
		}
		f = *x
	default:
		return "—"
	}
	s := strconv.FormatFloat(f, 'f', 2, 64)
	if t.lang == french {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// State names a dossier state for people.
func (t tr) State(s engine.State) string { return t.S("state." + string(s)) }

// Field names a creative field in the reader's language; a field the
// catalog does not know (a call may name its own) keeps its name.
func (t tr) Field(name string) string {
	if t.Has("field." + name) {
		return t.S("field." + name)
	}
	return name
}

// Phrase is a phrase of the engine's tables (the lifecycle's "when"
// column) in the reader's language, or as written when it has none.
func (t tr) Phrase(s string) string {
	if t.Has("phrase." + s) {
		return t.S("phrase." + s)
	}
	return s
}

// Event names a move for people.
func (t tr) Event(e string) string { return t.S("event." + e) }

// When writes an instant in the zone, as the reader's language writes it.
func (t tr) When(at time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	at = at.In(loc)
	if t.lang == french {
		return fmt.Sprintf("%d %s %d, %s (%s)", at.Day(), t.S(fmt.Sprintf("month.%d", at.Month())), at.Year(), at.Format("15:04"), at.Format("MST"))
	}
	return at.Format("2 January 2006, 15:04 (MST)")
}

// view is what every page gets: the reader, its language and the page's
// own data.
type view struct {
	T      tr
	Lang   string
	Actor  engine.Actor
	Title  string
	Path   string
	Notice string
	Error  *pageError
	Data   any
	// DemoNow is the server's time when it runs on a demo clock, for a
	// banner on every page; "" on the real clock.
	DemoNow string
}

// Err is the message for the input named key, or "".
func (v view) Err(key string) string { return v.Error.Field(key) }

// pageError is a refusal as a page shows it: a translated message, and a
// message per field tied to its input.
type pageError struct {
	Message string
	Fields  map[string]string
}

// Field returns the message for the input named key, or "".
func (e *pageError) Field(key string) string {
	if e == nil {
		return ""
	}
	return e.Fields[key]
}

// explain turns an engine error into what a reader of the language sees:
// the message of its code, and each field's message.
func (s *Server) explain(t tr, err error) *pageError {
	code := engine.ErrorCode(err)
	pe := &pageError{Message: t.S("error." + code), Fields: map[string]string{}}
	if code == engine.EINTERNAL || !t.Has("error."+code) {
		pe.Message = t.S("error.internal")
	}
	texts := engine.ErrorTexts(err)
	for k, v := range engine.ErrorFields(err) {
		pe.Fields[k] = v
		if text, ok := texts[k]; ok && t.lang != english && t.Has("msg."+text.Key) {
			pe.Fields[k] = t.Text(text)
		}
	}
	if msg := engine.ErrorMessage(err); code != engine.EINTERNAL && msg != "" && t.lang == english {
		pe.Message = msg
	} else if text := engine.ErrorText(err); text != nil && t.Has("msg."+text.Key) {
		pe.Message = t.Text(*text)
	}
	return pe
}

// readerLanguage is the account's language, else the visitor's choice
// (a cookie), else the browser's preference.
func readerLanguage(r *http.Request) string {
	if a := actorOf(r); a.Language == english || a.Language == french {
		return a.Language
	}
	if c, err := r.Cookie(languageCookie); err == nil && (c.Value == english || c.Value == french) {
		return c.Value
	}
	return language(r)
}

const languageCookie = "designate_lang"

// render writes the page, or a plain 500 if it fails (the page is built in
// a buffer first, so a failure never sends half a page).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("no such page", "page", name)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	v.T = tr{lang: readerLanguage(r), c: s.catalog}
	v.Lang, v.Actor, v.Path = v.T.lang, actorOf(r), r.URL.RequestURI()
	if s.svc.TimeTravelEnabled() {
		v.DemoNow = v.T.When(s.svc.Now(), "UTC")
	}
	if v.Notice == "" {
		if key := r.URL.Query().Get("notice"); key != "" && v.T.Has("notice."+key) {
			v.Notice = v.T.S("notice." + key)
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageFail shows a refusal on a page of its own (for a GET that cannot
// show its page): 404 and the rest as their status, with a way back.
func (s *Server) pageFail(w http.ResponseWriter, r *http.Request, err error) {
	if engine.ErrorCode(err) == engine.EUNAUTHORIZED {
		toLogin(w, r)
		return
	}
	if _, known := statusOf[engine.ErrorCode(err)]; !known {
		s.log.Error("page failed", "path", r.URL.Path, "err", err)
	}
	status := statusFor(w, err)
	t := tr{lang: readerLanguage(r), c: s.catalog}
	s.render(w, r, status, "error", view{Title: t.S("error.title"), Error: s.explain(t, err)})
}

// toLogin sends a visitor who must sign in to the sign-in page, and back
// here afterwards.
func toLogin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// redirectTo answers a form post with a redirect (Post/Redirect/Get), so a
// reload never posts twice.
func redirectTo(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// localPath keeps a ?next= target on this site: a path, never a URL that
// leads elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// homeOf is where an actor's work starts.
func homeOf(a engine.Actor) string {
	switch {
	case a.Role == engine.RoleApplicant:
		return "/city"
	case a.Role == engine.RoleCommission:
		return "/commission"
	case a.Role == engine.RoleEvaluator:
		return "/reviews"
	case a.Staff():
		return "/board"
	}
	return "/"
}

// roleHome starts a role's home page: a visitor is sent to sign in, an
// account of another role to its own home, and the calls are read. ok is
// false when the answer has been written.
func (s *Server) roleHome(w http.ResponseWriter, r *http.Request, mine func(engine.Actor) bool) (engine.Actor, []*engine.Call, bool) {
	a := actorOf(r)
	if a.Role == "" {
		toLogin(w, r)
		return a, nil, false
	}
	if !mine(a) {
		redirectTo(w, r, homeOf(a))
		return a, nil, false
	}
	calls, err := s.svc.Calls(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return a, nil, false
	}
	return a, calls, true
}

// staticHandler serves the stylesheet and the script.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.StripPrefix("/static", files).ServeHTTP(w, r)
	})
}

// fieldID is the id of the input a field's message belongs to:
// "sections.vision" is the input "f-sections-vision".
func fieldID(key string) string {
	return "f-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(key)
}

// phase is one step of a call's timeline.
type phase struct {
	Name          string
	At            time.Time
	When          string
	Past, Current bool
}

// timelineView is a call's phases as a reader sees them.
type timelineView struct {
	Phases []phase
}

// timeline lists the call's phases in its time zone, marking those past
// and the one under way.
func timeline(t tr, c *engine.Call, now time.Time) timelineView {
	steps := []struct {
		key string
		at  time.Time
	}{
		{"phase.opens", c.OpensAt},
		{"phase.deadline", c.SubmissionDeadline},
		{"phase.close", c.Close()},
		{"phase.endorsement", c.EndorsementDeadline},
		{"phase.evaluation", c.EvaluationDeadline},
		{"phase.announcement", c.AnnouncementAt},
	}
	var v timelineView
	current := false
	for _, st := range steps {
		p := phase{Name: t.S(st.key), At: st.at, When: t.When(st.at, c.TimeZone), Past: !st.at.After(now)}
		if !p.Past && !current {
			p.Current, current = true, true
		}
		v.Phases = append(v.Phases, p)
	}
	return v
}

// sortedKeys returns m's keys in order, for stable pages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
