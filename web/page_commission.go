package web

import (
	"net/http"

	"designate/engine"
)

// commissionDossier is one of the country's dossiers with what the
// commission may do with it now.
type commissionDossier struct {
	App      *engine.Summary
	Endorse  bool
	Decline  bool
	Verdicts []engine.HistoryEvent // the commission's own endorse/decline, with its reason
}

// commissionCall is one call as a National Commission sees it.
type commissionCall struct {
	Call     *engine.Call
	Timeline timelineView
	Quota    *engine.Quota
	Dossiers []commissionDossier
	Deadline string
}

type commissionPageData struct {
	Calls []commissionCall
	Zone  string
}

// pageCommission is a National Commission's home: for each call, its
// country's dossiers, the quota in use, and endorse or decline (with a
// reason) on the dossiers waiting for it.
func (s *Server) pageCommission(w http.ResponseWriter, r *http.Request) {
	a, calls, ok := s.roleHome(w, r, func(a engine.Actor) bool { return a.Role == engine.RoleCommission })
	if !ok {
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	now := s.svc.Now()
	data := commissionPageData{Zone: "UTC"}
	for _, c := range calls {
		page, err := s.svc.Applications(r.Context(), a, engine.Query{Call: c.ID, Limit: engine.MaxPageSize})
		if err != nil {
			s.pageFail(w, r, err)
			return
		}
		quota, err := s.svc.CountryQuota(r.Context(), a, c.ID, a.Country)
		if err != nil {
			s.pageFail(w, r, err)
			return
		}
		cc := commissionCall{Call: c, Timeline: timeline(t, c, now), Quota: quota,
			Deadline: t.When(c.EndorsementDeadline, c.TimeZone)}
		for _, app := range page.Items {
			d := commissionDossier{App: app}
			moves, err := s.svc.Moves(r.Context(), a, app.ID)
			if err != nil {
				s.pageFail(w, r, err)
				return
			}
			for _, m := range moves {
				d.Endorse = d.Endorse || m == engine.EventEndorse
				d.Decline = d.Decline || m == engine.EventDecline
			}
			if app.State != engine.Submitted {
				hist, err := s.svc.History(r.Context(), a, app.ID)
				if err != nil {
					s.pageFail(w, r, err)
					return
				}
				for _, h := range hist {
					if h.Event == engine.EventEndorse || h.Event == engine.EventDecline {
						d.Verdicts = append(d.Verdicts, h)
					}
				}
			}
			cc.Dossiers = append(cc.Dossiers, d)
		}
		data.Zone = c.TimeZone
		data.Calls = append(data.Calls, cc)
	}
	s.render(w, r, http.StatusOK, "commission", view{Title: t.S("commission.title", a.Country), Data: data})
}
