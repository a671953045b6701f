package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageDossierSave saves the city's draft from the editor. A refusal shows
// the editor again with everything typed kept and each message by its
// input; a stale version also says which parts were changed meanwhile.
func (s *Server) pageDossierSave(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, engine.Errorf(engine.EINVALID, "Bad form."))
		return
	}
	a := actorOf(r)
	edit := draftFromForm(r)
	saved, err := s.svc.SaveApplication(r.Context(), a, id, edit)
	if err == nil {
		redirectTo(w, r, "/dossiers/"+saved.ID+"?notice=saved")
		return
	}
	// The refusal is shown on the editor, over the dossier as stored.
	stored, serr := s.svc.Application(r.Context(), a, id)
	if serr != nil {
		s.pageFail(w, r, serr)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	pe := s.explain(t, err)
	if engine.ErrorCode(err) == engine.ESTALEVERSION {
		// Show the stored version's number, so saving again is a choice
		// made knowing what differs, and name the parts that differ.
		var changed []string
		for _, k := range sortedKeys(stored.Sections) {
			v := stored.Sections[k]
			if edit.Sections[k] != v {
				changed = append(changed, k)
			}
		}
		if stored.Contacts != edit.Contacts {
			changed = append(changed, t.S("dossier.contacts"))
		}
		pe.Message = t.S("dossier.stale", stored.Version, strings.Join(changed, ", "))
		edit.Version = stored.Version
	}
	shown := *stored
	shown.Version = edit.Version
	s.showDossier(w, r, statusFor(w, err), &shown, typedInput{Draft: &edit}, pe)
}

// draftFromForm reads the editor's inputs; sections the call does not have
// are ignored, as the form never shows them.
func draftFromForm(r *http.Request) engine.DraftEdit {
	f := r.PostForm
	version, _ := strconv.Atoi(f.Get("version"))
	contact := func(role string) engine.Contact {
		return engine.Contact{Name: f.Get("contacts." + role + ".name"), Email: f.Get("contacts." + role + ".email"), Phone: f.Get("contacts." + role + ".phone")}
	}
	edit := engine.DraftEdit{Version: version, Sections: map[string]string{},
		Contacts: engine.Contacts{Mayor: contact("mayor"), Representative: contact("representative"), Main: contact("main")}}
	for key, vals := range f {
		if id, ok := strings.CutPrefix(key, "sections."); ok && len(vals) > 0 {
			// Browsers send textarea line breaks as CRLF; store LF.
			edit.Sections[id] = strings.ReplaceAll(vals[0], "\r\n", "\n")
		}
	}
	return edit
}
