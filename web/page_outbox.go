package web

import (
	"net/http"

	"designate/engine"
)

// outboxPageSize is the messages one page of the outbox shows.
const outboxPageSize = 100

// heldCall is a call with results waiting for release.
type heldCall struct {
	Call       *engine.Call
	Held       int
	Releasable bool
}

type outboxPageData struct {
	State    string
	States   []string
	Messages []*engine.Message
	Held     []heldCall
}

// pageOutbox shows the secretariat the e-mails the moves caused: held
// results with their release, and the queue by state with a retry for the
// failed ones.
func (s *Server) pageOutbox(w http.ResponseWriter, r *http.Request) {
	a, calls, ok := s.roleHome(w, r, engine.Actor.Staff)
	if !ok {
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	d := outboxPageData{State: r.URL.Query().Get("state"),
		States: []string{engine.MessagePending, engine.MessageHeld, engine.MessageSent, engine.MessageFailed}}
	held, err := s.svc.Outbox(r.Context(), a, engine.MessageHeld, engine.MaxPageSize)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	now := s.svc.Now()
	for _, c := range calls {
		h := heldCall{Call: c, Releasable: c.State == engine.CallAnnounced || c.State == engine.CallArchived}
		for _, m := range held {
			if m.Call == c.ID {
				h.Held++
			}
		}
		if h.Held > 0 {
			h.Releasable = h.Releasable && !now.Before(c.AnnouncementAt)
			d.Held = append(d.Held, h)
		}
	}
	d.Messages, err = s.svc.Outbox(r.Context(), a, d.State, outboxPageSize)
	if engine.ErrorCode(err) == engine.EINVALID {
		d.State = ""
		s.render(w, r, http.StatusBadRequest, "outbox", view{Title: t.S("outbox.title"), Error: s.explain(t, err), Data: d})
		return
	} else if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "outbox", view{Title: t.S("outbox.title"), Data: d})
}
