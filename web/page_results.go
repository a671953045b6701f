package web

import (
	"net/http"

	"github.com/gorilla/mux"
)

// resultsCountry is one country's designated cities in one field.
type resultsCountry struct {
	Country string
	Cities  []string
}

// resultsField is one creative field's designations.
type resultsField struct {
	Field     string
	Countries []resultsCountry
	N         int
}

type resultsPageData struct {
	Title    string
	CallID   string
	Fields   []resultsField
	N        int
	Timeline timelineView
}

// pageResults is an announced call's designations by field and country,
// for everybody; before the announcement it does not exist.
func (s *Server) pageResults(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["call"]
	res, err := s.svc.Results(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	call, err := s.svc.Call(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	d := resultsPageData{Title: call.Title, CallID: call.ID, N: len(res.Items), Timeline: timeline(t, call, s.svc.Now())}
	// Results come sorted by field, country and city.
	for _, it := range res.Items {
		if n := len(d.Fields); n == 0 || d.Fields[n-1].Field != it.Field {
			d.Fields = append(d.Fields, resultsField{Field: it.Field})
		}
		f := &d.Fields[len(d.Fields)-1]
		if n := len(f.Countries); n == 0 || f.Countries[n-1].Country != it.Country {
			f.Countries = append(f.Countries, resultsCountry{Country: it.Country})
		}
		c := &f.Countries[len(f.Countries)-1]
		c.Cities = append(c.Cities, it.City)
		f.N++
	}
	s.render(w, r, http.StatusOK, "results", view{Title: t.S("results.title", call.Title), Data: d})
}
