package forms_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"designate/engine"
	"designate/forms"
)

// The fuzz targets of this file check what the forms promise the web layer,
// whatever the bytes or values a client sends:
//
//   - nothing panics;
//   - every error is an *engine.Error whose code is "invalid" or "too_large"
//     (never "internal", which would become a 500), and whose per-field keys
//     and messages are never empty;
//   - a body that decodes is valid UTF-8, holds no NUL (raw or `\u0000`), is
//     one JSON value with nothing after it, and is an object or null;
//   - decoding and validating are deterministic, and the fields an English
//     and a French validation name are the same.
//
// Seeds: testdata/fuzz/<FuzzName>/ holds the catalogue of malformed bodies
// (bad JSON, unknown fields, wrong types, invalid UTF-8, NUL, huge numbers,
// trailing data, nesting, empty, null, a string); f.Add adds valid bodies.

// --- DecodeJSON then Validate ---

func FuzzDecodeJSON_TransitionForm(f *testing.F) {
	for _, s := range []string{
		`{"event":"submit"}`,
		`{"event":"withdraw","note":"The city withdraws.","version":3}`,
		`{"event":"endorse","note":"","version":null}`,
		`{"event":"submit"}}`,
		`{"":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var form forms.TransitionForm
		if !decodeChecked(t, data, &form) {
			return
		}
		if !validateChecked(t, &form) {
			return
		}
		if !slices.Contains(engine.Events(), form.Event) {
			t.Fatalf("event %q passed validation", form.Event)
		}
		if n := utf8.RuneCountInString(form.Note); n > 2000 {
			t.Fatalf("note of %d characters passed validation", n)
		}
		if form.Version != nil && *form.Version < 1 {
			t.Fatalf("version %d passed validation", *form.Version)
		}
	})
}

func FuzzDecodeJSON_DraftForm(f *testing.F) {
	for _, s := range []string{
		`{"version":1}`,
		`{"version":2,"contacts":{"mayor":{"name":"Marie Laurent","email":"mayor@city.example","phone":"+33 4 97 06 40 00"},` +
			`"representative":{"name":"Jean Dupuis"},"main":{}},"sections":{"vision":"Cinema for every citizen"},"field":"Film","language":"fr"}`,
		`{"version":1,"sections":{"":"empty key","a\"b":"quote"}}`,
		`{"version":1,"contacts":{"mayor":{"email":"not an email"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var form forms.DraftForm
		if !decodeChecked(t, data, &form) {
			return
		}
		if !validateChecked(t, &form) {
			return
		}
		if form.Version < 1 || len(form.Sections) > 100 || utf8.RuneCountInString(form.Field) > 80 ||
			!slices.Contains([]string{"", "en", "fr"}, form.Language) {
			t.Fatalf("passed validation: %+v", form)
		}
	})
}

func FuzzDecodeJSON_CallForm(f *testing.F) {
	for _, s := range []string{
		validCallBody,
		`{"id":"c","title":"T","time_zone":"UTC","fields":["Music"],"languages":["en"],` +
			`"opens_at":"2027-01-01T00:00:00Z","submission_deadline":"2027-02-01T00:00:00Z",` +
			`"endorsement_deadline":"2027-03-01T00:00:00Z","evaluation_deadline":"2027-04-01T00:00:00Z",` +
			`"announcement_at":"2027-05-01T00:00:00Z","sections":[{"id":"s","title":{"en":"S","fr":"S"},"word_limit":1}]}`,
		`{"grace":"-1h","max_per_country":0,"sections":[{"word_limit":"many"}]}`,
		`{"opens_at":"2027-13-45T99:00:00Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var form forms.CallForm
		if !decodeChecked(t, data, &form) {
			return
		}
		// Check runs Validate and the engine's rules; checkCall holds it to
		// the properties FuzzCallForm_Check states.
		checkCall(t, &form)
	})
}

// validCallBody is a call the API accepts.
const validCallBody = `{
  "id": "creative-cities-2027",
  "title": "Creative Cities Network: call for applications 2027",
  "time_zone": "Europe/Paris",
  "fields": ["Music", "Film", "Gastronomy"],
  "languages": ["en", "fr"],
  "opens_at": "2027-03-16T09:00:00+01:00",
  "submission_deadline": "2027-06-30T23:59:00+02:00",
  "grace": "30m",
  "endorsement_deadline": "2027-07-31T23:59:00+02:00",
  "evaluation_deadline": "2027-09-30T23:59:00+02:00",
  "announcement_at": "2027-10-31T12:00:00+01:00",
  "max_per_country": 2,
  "distinct_fields": true,
  "sections": [
    {"id": "vision", "title": {"en": "Vision", "fr": "Vision"}, "word_limit": 500, "required": true},
    {"id": "action-plan", "title": {"en": "Action plan", "fr": "Plan d'action"}, "word_limit": 2000}
  ],
  "version": 0,
  "state": "planned"
}`

// decodeChecked decodes data into dst (a pointer to a zero form), holds the
// outcome to the properties above and reports whether it succeeded.
func decodeChecked[T any](t *testing.T, data []byte, dst *T) bool {
	t.Helper()
	err := forms.DecodeJSON(bytes.NewReader(data), dst)
	var again T
	errAgain := forms.DecodeJSON(bytes.NewReader(data), &again)
	sameOutcome(t, "DecodeJSON", err, errAgain)
	if err == nil && !reflect.DeepEqual(*dst, again) {
		t.Fatalf("DecodeJSON is not deterministic: %+v then %+v", *dst, again)
	}
	// A body over the cap is refused as too large, whatever it holds.
	if len(data) > 0 {
		capped := http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(data)), int64(len(data)-1))
		var v T
		if code := engine.ErrorCode(forms.DecodeJSON(capped, &v)); code != engine.ETOOLARGE {
			t.Fatalf("body of %d bytes under a cap of %d: code %q, want too_large", len(data), len(data)-1, code)
		}
	}
	if err != nil {
		refusal(t, "DecodeJSON", err, engine.EINVALID, engine.ETOOLARGE)
		if code := engine.ErrorCode(err); code != engine.EINVALID {
			t.Fatalf("DecodeJSON of an uncapped body: code %q, want invalid", code)
		}
		return false
	}
	switch {
	case !utf8.Valid(data):
		t.Fatalf("decoded a body that is not valid UTF-8: %q", data)
	case bytes.IndexByte(data, 0) >= 0:
		t.Fatalf("decoded a body with a NUL byte: %q", data)
	case bytes.Contains(data, []byte(`\u0000`)):
		t.Fatalf(`decoded a body with \u0000: %q`, data)
	case !json.Valid(data):
		// json.Valid refuses trailing data, which DecodeJSON must refuse too.
		t.Fatalf("decoded a body that is not exactly one JSON value: %q", data)
	}
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); trimmed[0] != '{' && !bytes.Equal(bytes.TrimRight(trimmed, " \t\r\n"), []byte("null")) {
		t.Fatalf("decoded a body that is neither an object nor null: %q", data)
	}
	return true
}

// validateChecked validates v in English and French, holds the outcome to
// the properties above and reports whether v is valid.
func validateChecked(t *testing.T, v any) bool {
	t.Helper()
	en := forms.Validate(v, forms.English)
	fr := forms.Validate(v, forms.French)
	sameOutcome(t, "Validate", en, forms.Validate(v, forms.English))
	sameOutcome(t, "Validate(fr)", fr, forms.Validate(v, forms.French))
	sameFields(t, "Validate", en, fr)
	if en == nil {
		return true
	}
	refusal(t, "Validate", en, engine.EINVALID)
	refusal(t, "Validate(fr)", fr, engine.EINVALID)
	if len(engine.ErrorFields(en)) == 0 {
		t.Fatalf("Validate refuses without naming a field: %v", en)
	}
	return false
}

// refusal fails unless err is an *engine.Error with one of the codes, a
// message, and non-empty field keys and messages.
func refusal(t *testing.T, what string, err error, codes ...string) {
	t.Helper()
	var e *engine.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: %T is not an *engine.Error: %v", what, err, err)
	}
	if !slices.Contains(codes, e.Code) {
		t.Fatalf("%s: code %q, want one of %q: %v", what, e.Code, codes, err)
	}
	if e.Message == "" {
		t.Fatalf("%s: empty message: %v", what, err)
	}
	for k, msg := range e.Fields {
		if k == "" {
			t.Fatalf("%s: a field error has an empty key (message %q)", what, msg)
		}
		if msg == "" {
			t.Fatalf("%s: field %q has an empty message", what, k)
		}
	}
}

// sameOutcome fails unless a and b are the same error (code, message and
// fields), or both nil.
func sameOutcome(t *testing.T, what string, a, b error) {
	t.Helper()
	if (a == nil) != (b == nil) || engine.ErrorCode(a) != engine.ErrorCode(b) ||
		engine.ErrorMessage(a) != engine.ErrorMessage(b) || !maps.Equal(engine.ErrorFields(a), engine.ErrorFields(b)) {
		t.Fatalf("%s is not deterministic: %v %v, then %v %v", what, a, engine.ErrorFields(a), b, engine.ErrorFields(b))
	}
}

// sameFields fails unless a and b name the same fields (their messages are
// in different languages).
func sameFields(t *testing.T, what string, a, b error) {
	t.Helper()
	ka := slices.Sorted(maps.Keys(engine.ErrorFields(a)))
	kb := slices.Sorted(maps.Keys(engine.ErrorFields(b)))
	if (a == nil) != (b == nil) || !slices.Equal(ka, kb) {
		t.Fatalf("%s: English and French disagree: %v %q, and %v %q", what, a, ka, b, kb)
	}
}

// --- CallForm.Check ---

// FuzzCallForm_Check builds a call form from fuzzed values and holds
// Check to: no panic; success only for a call the engine accepts, whose
// phases are in order; failure only as EINVALID naming at least one field;
// the same verdict, on the same fields, in English and French.
//
// Lists are '|'-separated ("" is no list); instants are Unix seconds in a
// fixed zone offsetMin minutes east of UTC; grace is nanoseconds (used when
// hasGrace); maxPer is used when hasMax. Each section has the id from
// sectionIDs and wordLimit+i words, and is required when i is even.
func FuzzCallForm_Check(f *testing.F) {
	base := time.Date(2027, time.March, 16, 8, 0, 0, 0, time.UTC).Unix()
	day := int64(24 * 3600)
	valid := func(id, tz string, grace int64, maxPer int) {
		f.Add(id, "Creative Cities 2027", tz, "Music|Film|Gastronomy", "en|fr",
			base, base+10*day, base+20*day, base+40*day, base+60*day, 60,
			grace, true, maxPer, true, "vision|action-plan|partners", "Vision", "Vision", 500, 0)
	}
	valid("creative-cities-2027", "Europe/Paris", int64(30*time.Minute), 2)
	valid("c", "UTC", 0, 1)
	valid("a-b-c", "America/Argentina/Buenos_Aires", int64(7*24*time.Hour), 1000)
	// Boundaries: deadline plus grace exactly at the endorsement deadline,
	// all of the later instants equal.
	f.Add("edge", "Edge", "Asia/Kolkata", "Music", "fr", base, base+day, base+day+3600, base+day+3600, base+day+3600, -720,
		int64(time.Hour), true, 0, false, "s", "S", "S", 1, 7)
	// Invalid each way.
	f.Add("", "", "", "", "", int64(0), int64(0), int64(0), int64(0), int64(0), 0, int64(0), false, 0, false, "", "", "", 0, 0)
	f.Add("-Bad/../id", "\x00", "Local", "Music|Music|\x07", "en|en|de", base+day, base, base, base, base, 0,
		int64(-time.Second), true, -1, true, "x|x|-y|", " ", "\xff", -5, -1)
	f.Add("zero-time", "T", "UTC", "Music", "en", int64(-62135596800), base, base, base, base, 0,
		int64(0), false, 2, false, "s", "S", "S", 1, 0)
	f.Add("far", "T", "UTC", "Music", "en", int64(-1<<62), int64(1<<62), int64(1<<63-1), int64(-1<<63), base, 1<<30,
		int64(1<<63-1), true, 1<<62, true, "s", "S", "S", 1<<40, 1<<62)
	f.Add("zone", "T", "./UTC", "Music", "en", base, base+1, base+1, base+1, base+1, 0,
		int64(0), false, 0, false, "s", "S", "S", 1, 0)

	f.Fuzz(func(t *testing.T, id, title, tz, fields, langs string,
		opens, deadline, endorsement, evaluation, announcement int64, offsetMin int,
		grace int64, hasGrace bool, maxPer int, hasMax bool,
		sectionIDs, titleEN, titleFR string, wordLimit, version int) {
		zone := time.FixedZone("", (offsetMin%(24*60))*60)
		at := func(sec int64) time.Time { return time.Unix(sec, 0).In(zone) }
		form := forms.CallForm{
			ID: id, Title: title, TimeZone: tz, Fields: list(fields), Languages: list(langs),
			OpensAt: at(opens), SubmissionDeadline: at(deadline), EndorsementDeadline: at(endorsement),
			EvaluationDeadline: at(evaluation), AnnouncementAt: at(announcement), Version: version,
		}
		if hasGrace {
			g := engine.Duration(grace)
			form.Grace = &g
		}
		if hasMax {
			form.MaxPerCountry = &maxPer
		}
		for i, sid := range list(sectionIDs) {
			form.Sections = append(form.Sections, forms.SectionForm{
				ID: sid, Title: engine.Localized{EN: titleEN, FR: titleFR}, WordLimit: wordLimit + i, Required: i%2 == 0,
			})
		}
		checkCall(t, &form)
	})
}

// checkCall runs form.Check in English and French and holds the outcome to
// the properties of FuzzCallForm_Check.
func checkCall(t *testing.T, form *forms.CallForm) {
	t.Helper()
	call, err := form.Check(forms.English)
	callFR, errFR := form.Check(forms.French)
	_, errAgain := form.Check(forms.English)
	sameOutcome(t, "Check", err, errAgain)
	sameFields(t, "Check", err, errFR)
	if !reflect.DeepEqual(call, callFR) {
		t.Fatalf("Check returns a different call in French: %+v and %+v", call, callFR)
	}
	if err != nil {
		refusal(t, "Check", err, engine.EINVALID)
		refusal(t, "Check(fr)", errFR, engine.EINVALID)
		if len(engine.ErrorFields(err)) == 0 {
			t.Fatalf("Check refuses without naming a field: %v", err)
		}
		return
	}
	if verr := call.Validate(); verr != nil {
		t.Fatalf("Check accepts a call the engine refuses: %v %v", verr, engine.ErrorFields(verr))
	}
	closeAt := call.Close()
	if !call.OpensAt.Before(call.SubmissionDeadline) || closeAt.Before(call.SubmissionDeadline) ||
		call.EndorsementDeadline.Before(closeAt) || call.EvaluationDeadline.Before(call.EndorsementDeadline) ||
		call.AnnouncementAt.Before(call.EvaluationDeadline) {
		t.Fatalf("Check accepts phases out of order: opens %v, deadline %v, close %v, endorsement %v, evaluation %v, announcement %v",
			call.OpensAt, call.SubmissionDeadline, closeAt, call.EndorsementDeadline, call.EvaluationDeadline, call.AnnouncementAt)
	}
	for _, in := range []time.Time{call.OpensAt, call.SubmissionDeadline, call.EndorsementDeadline, call.EvaluationDeadline, call.AnnouncementAt} {
		if y := in.Year(); y < 2000 || y > 9999 {
			t.Fatalf("Check accepts an instant in the year %d", y)
		}
	}
	if call.Grace < 0 || time.Duration(call.Grace) > 7*24*time.Hour {
		t.Fatalf("Check accepts a grace of %v", time.Duration(call.Grace))
	}
	if call.MaxPerCountry < 1 || call.MaxPerCountry > 1000 || (form.MaxPerCountry == nil && call.MaxPerCountry != 2) {
		t.Fatalf("Check accepts max_per_country %d (form %v)", call.MaxPerCountry, form.MaxPerCountry)
	}
	if !engine.ValidSlug(call.ID) || len(call.Sections) != len(form.Sections) || len(call.Sections) == 0 {
		t.Fatalf("Check accepts id %q with %d sections", call.ID, len(call.Sections))
	}
	seen := map[string]bool{}
	for _, s := range call.Sections {
		if !engine.ValidSlug(s.ID) || seen[s.ID] || s.WordLimit < 1 || s.WordLimit > 100000 ||
			strings.TrimSpace(s.Title.EN) == "" || strings.TrimSpace(s.Title.FR) == "" {
			t.Fatalf("Check accepts section %+v", s)
		}
		seen[s.ID] = true
	}
}

// list splits a '|'-separated list; "" is no list at all.
func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}
