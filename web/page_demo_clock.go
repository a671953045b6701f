package web

import (
	"net/http"
	"time"

	"designate/engine"
)

// jumpTarget is an instant the demo clock can jump to: one second after a
// phase of a call, so the deadline has passed and acted.
type jumpTarget struct {
	Call  string
	Phase string
	When  string
	To    string // RFC 3339, the form's value
}

type demoClockPageData struct {
	Now     string
	Targets []jumpTarget
}

// pageDemoClock lists the instants a demo server's clock can jump to.
func (s *Server) pageDemoClock(w http.ResponseWriter, r *http.Request) {
	s.showDemoClock(w, r, http.StatusOK, nil)
}

func (s *Server) showDemoClock(w http.ResponseWriter, r *http.Request, status int, pe *pageError) {
	if !s.demoClockAllowed(w, r) {
		return
	}
	calls, err := s.svc.Calls(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	now := s.svc.Now()
	d := demoClockPageData{Now: t.When(now, "UTC")}
	for _, c := range calls {
		for _, p := range timeline(t, c, now).Phases {
			if p.Past {
				continue
			}
			to := p.At.Add(time.Second)
			d.Targets = append(d.Targets, jumpTarget{Call: c.Title, Phase: p.Name, When: p.When, To: to.UTC().Format(time.RFC3339)})
		}
	}
	s.render(w, r, status, "democlock", view{Title: t.S("democlock.title"), Error: pe, Data: d})
}

// pageDemoClockJump moves the demo clock forward; the deadlines it passes
// act at once.
func (s *Server) pageDemoClockJump(w http.ResponseWriter, r *http.Request) {
	// Who may, and whether there is a demo clock, before what was sent.
	if !s.demoClockAllowed(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	to, err := time.Parse(time.RFC3339, r.PostForm.Get("to"))
	if err != nil {
		t := tr{lang: readerLanguage(r), c: s.catalog}
		s.showDemoClock(w, r, http.StatusBadRequest, s.explain(t, engine.FieldErrors(engine.EINVALID, "Bad instant.", map[string]string{"to": "must be an RFC 3339 instant"})))
		return
	}
	if err := s.svc.TimeTravel(r.Context(), actorOf(r), to); err != nil {
		if code := engine.ErrorCode(err); code == engine.EINVALID {
			t := tr{lang: readerLanguage(r), c: s.catalog}
			s.showDemoClock(w, r, http.StatusBadRequest, s.explain(t, err))
			return
		}
		s.pageFail(w, r, err)
		return
	}
	redirectTo(w, r, "/demo/clock?notice=jumped")
}

// demoClockAllowed answers for the demo clock's pages in the engine's
// order: sign in, then only the staff, then only on a demo server. It
// reports whether the page may go on.
func (s *Server) demoClockAllowed(w http.ResponseWriter, r *http.Request) bool {
	a := actorOf(r)
	switch {
	case a.Role == "":
		toLogin(w, r)
	case !a.Staff():
		s.pageFail(w, r, engine.Errorf(engine.EFORBIDDEN, "Only the secretariat moves the demo clock."))
	case !s.svc.TimeTravelEnabled():
		s.pageFail(w, r, engine.Errorf(engine.ENOTFOUND, "This server runs on the real clock."))
	default:
		return true
	}
	return false
}
