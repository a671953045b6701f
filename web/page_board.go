package web

import (
	"net/http"
	"net/url"
	"strings"

	"designate/engine"
)

// boardPageSize is the rows of one page of the board's list: enough to
// scan, few enough for a slow link.
const boardPageSize = 25

type boardFilters struct {
	Call, State, Country, Field, Q string
}

type boardPageData struct {
	Calls    []*engine.Call
	Call     *engine.Call
	Board    *engine.Board
	States   []engine.State
	Filters  boardFilters
	Items    []*engine.Summary
	Next     string // the next page's address, or ""
	First    string // the first page's address when this is a later one
	Paged    bool
	Timeline timelineView
}

// pageBoard is the secretariat's home: a call's dossiers counted by state
// and field, and a filterable list that pages with a cursor.
func (s *Server) pageBoard(w http.ResponseWriter, r *http.Request) {
	a, calls, ok := s.roleHome(w, r, engine.Actor.Staff)
	if !ok {
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	v := r.URL.Query()
	f := boardFilters{Call: v.Get("call"), State: v.Get("state"), Country: strings.ToUpper(strings.TrimSpace(v.Get("country"))),
		Field: v.Get("field"), Q: strings.TrimSpace(v.Get("q"))}
	d := boardPageData{Calls: calls, States: engine.States, Filters: f}
	if len(calls) == 0 {
		s.render(w, r, http.StatusOK, "board", view{Title: t.S("board.title"), Data: d})
		return
	}
	d.Call = latestCall(calls)
	for _, c := range calls {
		if c.ID == f.Call {
			d.Call = c
		}
	}
	d.Filters.Call = d.Call.ID
	d.Timeline = timeline(t, d.Call, s.svc.Now())
	var err error
	if d.Board, err = s.svc.Board(r.Context(), a, d.Call.ID); err != nil {
		s.pageFail(w, r, err)
		return
	}
	// A filter the list cannot take is said next to its input; the counts
	// still show.
	bad := map[string]string{}
	if f.State != "" && !engine.ValidState(engine.State(f.State)) {
		bad["state"] = t.S("board.bad.state")
	}
	if f.Country != "" && !engine.ValidCountry(f.Country) {
		bad["country"] = t.S("board.bad.country")
	}
	if f.Q != "" && !engine.ValidText(f.Q, 1, 100) {
		bad["q"] = t.S("board.bad.q")
	}
	cursor := v.Get("cursor")
	if cursor != "" && !engine.ValidID(cursor) {
		cursor = ""
	}
	var pe *pageError
	status := http.StatusOK
	if len(bad) > 0 {
		pe, status = &pageError{Message: t.S("board.bad"), Fields: bad}, http.StatusBadRequest
	} else {
		page, err := s.svc.Applications(r.Context(), a, engine.Query{Call: d.Call.ID, State: engine.State(f.State),
			Country: f.Country, Field: f.Field, CityContains: f.Q, After: cursor, Limit: boardPageSize})
		if err != nil {
			s.pageFail(w, r, err)
			return
		}
		d.Items = page.Items
		if page.NextCursor != "" {
			d.Next = boardURL(d.Filters, page.NextCursor)
		}
		if cursor != "" {
			d.First, d.Paged = boardURL(d.Filters, ""), true
		}
	}
	s.render(w, r, status, "board", view{Title: t.S("board.title"), Error: pe, Data: d})
}

// boardURL is the board's address with the filters and a cursor.
func boardURL(f boardFilters, cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"call": f.Call, "state": f.State, "country": f.Country, "field": f.Field, "q": f.Q, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return "/board?" + q.Encode()
}

// latestCall is the call that opened last: the one the secretariat is most
// likely working on.
func latestCall(calls []*engine.Call) *engine.Call {
	latest := calls[0]
	for _, c := range calls[1:] {
		if c.OpensAt.After(latest.OpensAt) {
			latest = c
		}
	}
	return latest
}
