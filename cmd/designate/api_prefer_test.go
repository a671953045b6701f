package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"designate/engine"
)

// sendPreferring sends a JSON write with a Prefer header.
func (tm *TestMain) sendPreferring(prefer, method, path, token string, body any) *Response {
	tm.tb.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		tm.tb.Fatal(err)
	}
	req, err := http.NewRequest(method, tm.URL()+path, bytes.NewReader(raw))
	if err != nil {
		tm.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tm.tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tm.tb.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

// keysOf returns the sorted top-level keys of a JSON object.
func keysOf(tb testing.TB, raw []byte) []string {
	tb.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("decode %s: %v", raw, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// A client that says Prefer: return=minimal gets {id, state, version,
// updated_at} back from every write, with Preference-Applied; one that
// does not gets the whole dossier, as before. The write itself is the
// same either way.
func TestAPI_PreferReturnMinimal_AnswersTheHeadOnly(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody("uccn-2029"), nil)
	lyon := tm.newCity("Lyon", "FR", "Film")
	tm.startDossier(lyon, "uccn-2029")
	minimal := []string{"id", "state", "updated_at", "version"}

	for _, prefer := range []string{"return=minimal", `handling=lenient, RETURN="Minimal"; x=y`} {
		r := tm.sendPreferring(prefer, "PUT", "/api/v1/applications/"+lyon.Dossier.ID, lyon.Token, completeDraft(lyon.Dossier.Version, lyon.Name))
		if r.Status != 200 || !slices.Equal(keysOf(t, r.Body), minimal) || r.Header.Get("Preference-Applied") != "return=minimal" {
			t.Fatalf("save with Prefer %q: %d %s (Preference-Applied %q), want 200 with %v and the preference applied",
				prefer, r.Status, r.Body, r.Header.Get("Preference-Applied"), minimal)
		}
		var head Dossier
		json.Unmarshal(r.Body, &head)
		if head.ID != lyon.Dossier.ID || head.Version != lyon.Dossier.Version+1 || head.State != "draft" {
			t.Fatalf("minimal answer %+v, want %s at version %d", head, lyon.Dossier.ID, lyon.Dossier.Version+1)
		}
		lyon.Dossier.Version = head.Version
	}
	// The minimal answer's version is the one to send next, and the text
	// saved is all there.
	whole := tm.dossier(lyon.Dossier.ID, lyon.Token)
	if whole.Version != lyon.Dossier.Version || len(whole.Sections) == 0 {
		t.Fatalf("read back %+v, want version %d with its sections", whole, lyon.Dossier.Version)
	}

	r := tm.sendPreferring("return=minimal", "POST", "/api/v1/applications/"+lyon.Dossier.ID+"/transitions", lyon.Token, map[string]string{"event": "submit"})
	if r.Status != 200 || !slices.Equal(keysOf(t, r.Body), minimal) || !strings.Contains(string(r.Body), `"submitted"`) {
		t.Fatalf("submit with return=minimal: %d %s", r.Status, r.Body)
	}
	// Without the preference, or with another one, the whole dossier.
	r = tm.sendPreferring("return=representation", "POST", "/api/v1/applications/"+lyon.Dossier.ID+"/transitions", lyon.Token, map[string]string{"event": "retract"})
	if r.Status != 200 || !slices.Contains(keysOf(t, r.Body), "sections") || r.Header.Get("Preference-Applied") != "" {
		t.Fatalf("retract with return=representation: %d %s (Preference-Applied %q), want the whole dossier", r.Status, r.Body, r.Header.Get("Preference-Applied"))
	}
	// A refusal is the same error whatever the preference.
	r = tm.sendPreferring("return=minimal", "PUT", "/api/v1/applications/"+lyon.Dossier.ID, lyon.Token, completeDraft(1, lyon.Name))
	if r.Status != 409 || !strings.Contains(string(r.Body), `"stale_version"`) {
		t.Fatalf("stale save with return=minimal: %d %s, want 409 stale_version", r.Status, r.Body)
	}
}

// The lists answer heads: no sections, contacts or files, however large
// the dossiers; the dossier itself is still answered whole.
func TestAPI_Lists_AnswerHeadsOnly(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody("uccn-2029"), nil)
	lyon := tm.newCity("Lyon", "FR", "Film")
	tm.submitDossier(lyon, "uccn-2029")
	for _, token := range []string{lyon.Token, secretariat} {
		var page struct{ Items []json.RawMessage }
		tm.MustDo(200, "GET", "/api/v1/applications?call=uccn-2029", token, nil, &page)
		if len(page.Items) != 1 {
			t.Fatalf("%d items, want Lyon's dossier", len(page.Items))
		}
		keys := keysOf(t, page.Items[0])
		for _, body := range []string{"sections", "contacts", "attachments"} {
			if slices.Contains(keys, body) {
				t.Errorf("a list item has %q: %v", body, keys)
			}
		}
		for _, head := range []string{"id", "call", "city", "country", "field", "state", "version", "updated_at", "submitted_at", "submission_digest"} {
			if !slices.Contains(keys, head) {
				t.Errorf("a list item lacks %q: %v", head, keys)
			}
		}
	}
	if keys := keysOf(t, tm.Raw("/api/v1/applications/"+lyon.Dossier.ID, secretariat)); !slices.Contains(keys, "sections") || !slices.Contains(keys, "contacts") {
		t.Errorf("the dossier itself lacks its body: %v", keys)
	}
}
