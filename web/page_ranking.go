package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"designate/engine"
)

type rankingPageData struct {
	Call   *engine.Call
	Field  string
	Ranked []engine.Ranked
}

// pageRanking orders a call's evaluated dossiers in one field by the mean
// of their final reviews, for the secretariat to decide from.
func (s *Server) pageRanking(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	if a.Anonymous() {
		toLogin(w, r)
		return
	}
	if !a.Staff() {
		// The engine refuses too; asked first so that nothing of the call
		// is looked up for someone who may not rank it.
		s.pageFail(w, r, engine.Errorf(engine.EFORBIDDEN, "Only the secretariat may do this."))
		return
	}
	call, err := s.svc.Call(r.Context(), mux.Vars(r)["call"])
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	d := rankingPageData{Call: call, Field: r.URL.Query().Get("field")}
	if d.Field == "" && len(call.Fields) > 0 {
		d.Field = call.Fields[0]
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	if !call.HasField(d.Field) {
		pe := s.explain(t, engine.FieldTexts(engine.EINVALID, "Unknown field.", map[string]engine.Text{"field": engine.T("not_a_field", strings.Join(call.Fields, ", "))}))
		s.render(w, r, http.StatusBadRequest, "ranking", view{Title: t.S("ranking.title", call.Title), Error: pe, Data: d})
		return
	}
	if d.Ranked, err = s.svc.Ranking(r.Context(), a, call.ID, d.Field); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "ranking", view{Title: t.S("ranking.title", call.Title), Data: d})
}
