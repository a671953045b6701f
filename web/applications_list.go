package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"designate/engine"
)

// applicationsList returns one page of the dossiers the caller may see,
// filtered by call, state, country, field and a search on the city's name.
func (s *Server) applicationsList(w http.ResponseWriter, r *http.Request) {
	q, err := listQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.svc.Applications(r.Context(), actorOf(r), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// listQuery reads the list's filters, refusing malformed ones rather than
// answering an empty page the client would misread.
func listQuery(r *http.Request) (engine.Query, error) {
	// A query that does not parse, names a filter twice or names one this
	// list does not have would otherwise be answered unfiltered.
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return engine.Query{}, engine.Errorf(engine.EINVALID, "The query string is malformed.")
	}
	bad := map[string]string{}
	for name, values := range v {
		switch {
		case !slices.Contains(listFilters, name):
			bad[truncate(name, 64)] = "is not a filter of this list: use " + strings.Join(listFilters, ", ")
		case len(values) > 1:
			bad[name] = "is given more than once"
		}
	}
	q := engine.Query{
		Call: v.Get("call"), State: engine.State(v.Get("state")), Country: v.Get("country"),
		Field: v.Get("field"), After: v.Get("cursor"), CityContains: strings.TrimSpace(v.Get("q")),
	}
	if q.After != "" && !engine.ValidID(q.After) {
		bad["cursor"] = "is not a cursor this server gave"
	}
	if q.Call != "" && !engine.ValidSlug(q.Call) {
		bad["call"] = "is not a call id"
	}
	if q.State != "" && !engine.ValidState(q.State) {
		bad["state"] = "is not a dossier state"
	}
	if q.Country != "" && !engine.ValidCountry(q.Country) {
		bad["country"] = "must be an ISO 3166-1 alpha-2 code such as FR"
	}
	if q.Field != "" && !engine.ValidText(q.Field, 1, 80) {
		bad["field"] = "is not a creative field"
	}
	if q.CityContains != "" && !engine.ValidText(q.CityContains, 1, 100) {
		bad["q"] = "must be 1 to 100 characters of a city's name"
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > engine.MaxPageSize {
			bad["limit"] = "must be a whole number from 1 to " + strconv.Itoa(engine.MaxPageSize)
		}
		q.Limit = n
	}
	if len(bad) > 0 {
		return q, engine.FieldErrors(engine.EINVALID, "The filters are not valid.", bad)
	}
	return q, nil
}

// listFilters are the query parameters the list takes.
var listFilters = []string{"call", "state", "country", "field", "q", "limit", "cursor"}

// truncate bounds a client's text echoed in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
