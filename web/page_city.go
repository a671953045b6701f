package web

import (
	"net/http"

	"designate/engine"
)

// cityCall is one call on a city's home: its dossiers, its timeline and,
// while it is open, the countdown to the enforced close.
type cityCall struct {
	Call            *engine.Call
	Timeline        timelineView
	Dossiers        []*engine.Summary
	Open, CanStart  bool
	Deadline, Close string
}

type cityPageData struct {
	Calls []cityCall
	Zone  string
}

// pageCity is an applicant city's home.
func (s *Server) pageCity(w http.ResponseWriter, r *http.Request) {
	a, calls, ok := s.roleHome(w, r, func(a engine.Actor) bool { return a.Role == engine.RoleApplicant })
	if !ok {
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	now := s.svc.Now()
	data := cityPageData{Zone: "UTC"}
	for _, c := range calls {
		page, err := s.svc.Applications(r.Context(), a, engine.Query{Call: c.ID, Limit: engine.MaxPageSize})
		if err != nil {
			s.pageFail(w, r, err)
			return
		}
		open := c.State == engine.CallOpen && !now.After(c.Close())
		live := false
		for _, d := range page.Items {
			live = live || (d.State != engine.Withdrawn && d.State != engine.Lapsed)
		}
		data.Zone = c.TimeZone
		data.Calls = append(data.Calls, cityCall{Call: c, Timeline: timeline(t, c, now), Dossiers: page.Items,
			Open: open, CanStart: open && !live,
			Deadline: t.When(c.SubmissionDeadline, c.TimeZone), Close: t.When(c.Close(), c.TimeZone)})
	}
	s.render(w, r, http.StatusOK, "city", view{Title: t.S("city.title", a.City), Data: data})
}
