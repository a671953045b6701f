package web

import (
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"designate/engine"
)

// FuzzListQuery holds listQuery, which reads GET /api/v1/applications'
// query string, to: no panic; the same answer twice; a query string that
// does not parse is refused; on success every filter given is well formed
// (call a slug, state a dossier state, country an ISO code, field 1 to 80
// characters without control characters, limit 0 for "not given" or 1 to
// MaxPageSize, cursor empty or a ValidID), is the query's own value, and no
// parameter is unknown or repeated; on failure EINVALID naming only
// parameters that were given.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{
		"", "call=creative-cities-2027", "state=submitted&country=FR&field=Film&limit=50",
		"cursor=06GZQK7J0JY0C899&limit=500", "limit=0", "limit=501", "limit=-1", "limit=%2B5", "limit=1e2",
		"call=Bad_ID", "state=nope", "country=fr", "country=XX", "field=%00", "field=%E2%80%8B", "field=%FF",
		"cursor=../../etc", "cursor=%2F", "call=a&call=-b", "call=%zz", "call=a;b", "field=" + strings80() + "x",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse("/api/v1/applications?" + raw)
		if err != nil {
			t.Skip()
		}
		r := httptest.NewRequest("GET", "/api/v1/applications", nil)
		r.URL, r.RequestURI = u, u.RequestURI()
		v, perr := url.ParseQuery(u.RawQuery)

		q, err := listQuery(r)
		q2, err2 := listQuery(r)
		if q != q2 || engine.ErrorCode(err) != engine.ErrorCode(err2) || !maps.Equal(engine.ErrorFields(err), engine.ErrorFields(err2)) {
			t.Fatalf("listQuery(%q) is not deterministic: %+v %v, then %+v %v", raw, q, err, q2, err2)
		}
		if perr != nil {
			if engine.ErrorCode(err) != engine.EINVALID {
				t.Fatalf("listQuery(%q) accepts a query string that does not parse: %v", raw, err)
			}
			return
		}
		if q.Call != v.Get("call") || string(q.State) != v.Get("state") || q.Country != v.Get("country") ||
			q.Field != v.Get("field") || q.After != v.Get("cursor") {
			t.Fatalf("listQuery(%q) = %+v, not the query's values %v", raw, q, v)
		}
		if err != nil {
			if engine.ErrorCode(err) != engine.EINVALID || len(engine.ErrorFields(err)) == 0 {
				t.Fatalf("listQuery(%q): %v %v, want invalid with fields", raw, err, engine.ErrorFields(err))
			}
			for k := range engine.ErrorFields(err) {
				if _, given := v[strings.TrimSuffix(k, "…")]; !given && !strings.HasSuffix(k, "…") {
					t.Fatalf("listQuery(%q) blames %q, which was not given", raw, k)
				}
			}
			return
		}
		for name, values := range v {
			if !slices.Contains(listFilters, name) || len(values) > 1 {
				t.Fatalf("listQuery(%q) accepts parameter %q given %d times", raw, name, len(values))
			}
		}
		if q.After != "" && !engine.ValidID(q.After) {
			t.Fatalf("listQuery(%q) accepts cursor %q", raw, q.After)
		}
		switch {
		case q.Call != "" && !engine.ValidSlug(q.Call):
			t.Fatalf("listQuery(%q) accepts call %q", raw, q.Call)
		case q.State != "" && !engine.ValidState(q.State):
			t.Fatalf("listQuery(%q) accepts state %q", raw, q.State)
		case q.Country != "" && !engine.ValidCountry(q.Country):
			t.Fatalf("listQuery(%q) accepts country %q", raw, q.Country)
		case q.Limit < 0 || q.Limit > engine.MaxPageSize || (q.Limit == 0) != (v.Get("limit") == ""):
			t.Fatalf("listQuery(%q) accepts limit %d", raw, q.Limit)
		}
		if q.Limit != 0 {
			if n, err := strconv.Atoi(v.Get("limit")); err != nil || n != q.Limit {
				t.Fatalf("listQuery(%q) reads limit %q as %d", raw, v.Get("limit"), q.Limit)
			}
		}
		if q.Field != "" {
			if !utf8.ValidString(q.Field) || utf8.RuneCountInString(q.Field) > 80 {
				t.Fatalf("listQuery(%q) accepts field %q", raw, q.Field)
			}
			for _, c := range q.Field {
				if unicode.IsControl(c) {
					t.Fatalf("listQuery(%q) accepts field %q with a control character", raw, q.Field)
				}
			}
		}
	})
}

// strings80 is a field name of exactly 80 characters, two bytes each.
func strings80() string {
	s := ""
	for range 80 {
		s += "%C3%A9"
	}
	return s
}
