package web

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"designate/engine"
)

// TestCatalog_HasEveryTextAPageShows reads every literal key the templates
// and handlers translate, and every key built from the engine's states,
// events, call states and error codes, and requires it in both languages:
// a page must never show a key instead of a text.
func TestCatalog_HasEveryTextAPageShows(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	literal := regexp.MustCompile(`(?:\.T\.[SN]|\bt\.[SN]|\.S)\(?\s*"([a-z_]+\.[a-z_.]+)"`)
	for _, root := range []fs.FS{templateFiles} {
		err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := fs.ReadFile(root, p)
			for _, m := range literal.FindAllStringSubmatch(string(raw), -1) {
				keys[m[1]] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(keys) < 40 {
		t.Fatalf("read only %d keys from the templates", len(keys))
	}
	for _, s := range engine.States {
		keys["state."+string(s)] = true
	}
	for _, tr := range engine.Lifecycle {
		if tr.When != "" {
			keys["phrase."+tr.When] = true
		}
	}
	for _, e := range append(engine.Events(), "create") {
		keys["event."+e] = true
	}
	for _, cs := range []engine.CallState{engine.CallPlanned, engine.CallOpen, engine.CallClosed, engine.CallEvaluation, engine.CallAnnounced, engine.CallArchived} {
		keys["callstate."+string(cs)] = true
	}
	for code := range statusOf {
		keys["error."+code] = true
	}
	for _, e := range engine.Events() {
		if e != engine.EventLapse {
			keys["confirm."+e+".title"], keys["confirm."+e+".text"] = true, true
		}
	}
	for k := range keys {
		for _, lang := range []string{english, french} {
			if _, ok := c[lang][k]; !ok {
				t.Errorf("%s: no %s text", k, lang)
			}
		}
	}
}

// TestPages_ParseAtStartUp: every template parses with the layout.
func TestPages_ParseAtStartUp(t *testing.T) {
	pages, err := parsePages(map[string]any{"timeline": func(tr, *engine.Call) timelineView { return timelineView{} }})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"home", "login", "city", "dossier", "confirm", "receipt", "help", "error"} {
		if pages[name] == nil {
			t.Errorf("no page %q", name)
		}
	}
}

// TestCatalog_TranslatesEveryEngineMessage: every message the engine gives
// about an input has a French text taking the same arguments, so a French
// page never shows an English message or a formatting error.
func TestCatalog_TranslatesEveryEngineMessage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[-+# 0]*[0-9]*[a-zA-Z]`)
	keys := engine.TextKeys()
	if len(keys) < 20 {
		t.Fatalf("the engine names only %d messages", len(keys))
	}
	for _, k := range keys {
		fr, ok := c[french]["msg."+k]
		if !ok {
			t.Errorf("msg.%s: no French text", k)
			continue
		}
		en, _ := engine.TextFormat(k)
		if got, want := len(verbs.FindAllString(fr, -1)), len(verbs.FindAllString(en, -1)); got != want {
			t.Errorf("msg.%s: the French text takes %d arguments, the English %d:\n  %s\n  %s", k, got, want, fr, en)
		}
	}
	for k := range c[french] {
		if strings.HasPrefix(k, "msg.") && !slices.Contains(keys, strings.TrimPrefix(k, "msg.")) {
			t.Errorf("%s: the engine has no such message", k)
		}
	}
}
