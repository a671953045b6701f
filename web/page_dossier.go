package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageDossier shows a dossier: the city's editor while it is its draft,
// otherwise the dossier with its history and the moves the reader may make.
func (s *Server) pageDossier(w http.ResponseWriter, r *http.Request) {
	app, err := s.svc.Application(r.Context(), actorOf(r), mux.Vars(r)["id"])
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.showDossier(w, r, http.StatusOK, app, typedInput{}, nil)
}

// contactInput is one input of the contacts.
type contactInput struct {
	Key, Part, Type, Auto, Value string
}

type contactGroup struct {
	Role   string
	Inputs []contactInput
}

type sectionView struct {
	engine.Section
	Text string
}

type slotView struct {
	Slot          engine.AttachmentSlot
	Files         []engine.Attachment
	Room          bool
	Types, Accept string
}

type moveView struct {
	Event     string
	NeedsNote bool
}

type dossierPageData struct {
	App        *engine.Application
	Editable   bool
	Version    int
	Contacts   []contactGroup
	Sections   []sectionView
	Slots      []slotView
	TotalBytes int64
	MaxTotal   engine.ByteSize
	Moves      []moveView
	History    []engine.HistoryEvent
	Zone       string
	// Review is the evaluator's own review form; Evaluation the
	// secretariat's view of every review. At most one is set.
	Review     *reviewView
	Evaluation *evaluationView
}

// typedInput is what the reader sent and the server refused, shown again
// so nothing typed is lost.
type typedInput struct {
	Draft  *engine.DraftEdit
	Review *engine.ReviewEdit
	// Evaluator and Kind are the assignment the secretariat asked for.
	Evaluator, Kind string
}

// showDossier renders the dossier page. typed is what the reader sent, kept
// after a refusal; pe is the refusal.
func (s *Server) showDossier(w http.ResponseWriter, r *http.Request, status int, app *engine.Application, typed typedInput, pe *pageError) {
	a := actorOf(r)
	call, err := s.svc.Call(r.Context(), app.Call)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	now := s.svc.Now()
	d := dossierPageData{App: app, Version: app.Version, Zone: call.TimeZone, MaxTotal: call.MaxAttachmentBytes,
		Editable: a.Role == engine.RoleApplicant && a.City == app.City && a.Country == app.Country &&
			app.State == engine.Draft && !now.After(call.Close())}
	contacts, sections := app.Contacts, app.Sections
	if typed.Draft != nil {
		contacts, sections = typed.Draft.Contacts, typed.Draft.Sections
	}
	for _, g := range []struct {
		role string
		c    engine.Contact
	}{{"mayor", contacts.Mayor}, {"representative", contacts.Representative}, {"main", contacts.Main}} {
		d.Contacts = append(d.Contacts, contactGroup{Role: g.role, Inputs: []contactInput{
			{"contacts." + g.role + ".name", "name", "text", "name", g.c.Name},
			{"contacts." + g.role + ".email", "email", "email", "email", g.c.Email},
			{"contacts." + g.role + ".phone", "phone", "tel", "tel", g.c.Phone},
		}})
	}
	for _, sec := range call.Sections {
		d.Sections = append(d.Sections, sectionView{Section: sec, Text: sections[sec.ID]})
	}
	for _, slot := range call.Attachments {
		v := slotView{Slot: slot}
		var types, accept []string
		for _, ft := range slot.Types {
			types = append(types, ft.Label())
			accept = append(accept, ft.Extension(), ft.MediaType())
		}
		v.Types, v.Accept = strings.Join(types, ", "), strings.Join(accept, ",")
		for _, at := range app.Attachments {
			if at.Slot == slot.ID {
				v.Files = append(v.Files, at)
			}
		}
		v.Room = len(v.Files) < slot.Files
		d.Slots = append(d.Slots, v)
	}
	for _, at := range app.Attachments {
		d.TotalBytes += at.Size
	}
	if moves, err := s.svc.Moves(r.Context(), a, app.ID); err == nil {
		for _, m := range moves {
			d.Moves = append(d.Moves, moveView{Event: m, NeedsNote: engine.NeedsNote(m)})
		}
	}
	if hist, err := s.svc.History(r.Context(), a, app.ID); err == nil {
		d.History = hist
	}
	switch {
	case a.Role == engine.RoleEvaluator:
		d.Review, err = s.reviewView(r, t, call, app, typed.Review)
	case a.Staff():
		d.Evaluation, err = s.evaluationView(r, call, app, typed)
	}
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.render(w, r, status, "dossier", view{Title: t.S("dossier.title", app.City, t.Field(app.Field)), Error: pe, Data: d})
}

// showRefusal answers a form of the dossier page the engine refused: the
// page again, as the reader may now see the dossier, with the refusal by
// its inputs and what was typed. adjust, if any, places the messages.
func (s *Server) showRefusal(w http.ResponseWriter, r *http.Request, id string, typed typedInput, err error, adjust ...func(*pageError)) {
	app, aerr := s.svc.Application(r.Context(), actorOf(r), id)
	if aerr != nil {
		s.pageFail(w, r, aerr)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	pe := s.explain(t, err)
	for _, f := range adjust {
		f(pe)
	}
	s.showDossier(w, r, statusFor(w, err), app, typed, pe)
}
