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
	Dossiers        []*engine.Application
	Open, CanStart  bool
	Deadline, Close string
}

type cityPageData struct {
	Calls []cityCall
	Zone  string
}

// pageCity is an applicant city's home.
func (s *Server) pageCity(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	if a.Role == "" {
		toLogin(w, r)
		return
	}
	if a.Role != engine.RoleApplicant {
		redirectTo(w, r, homeOf(a))
		return
	}
	calls, err := s.svc.Calls(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
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
