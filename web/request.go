package web

import (
	"net/http"
	"strings"

	"designate/engine"
	"designate/forms"
)

// readForm decodes and validates the body into form, or answers with what is
// wrong and returns false.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, form any) bool {
	err := forms.DecodeJSON(r.Body, form)
	if err == nil {
		err = forms.Validate(form, language(r))
	}
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	return true
}

// readCall decodes a call and checks it whole: the form's rules and the
// call's own, answered together.
func (s *Server) readCall(w http.ResponseWriter, r *http.Request) (engine.Call, bool) {
	var form forms.CallForm
	if err := forms.DecodeJSON(r.Body, &form); err != nil {
		s.fail(w, r, err)
		return engine.Call{}, false
	}
	call, err := form.Check(language(r))
	if err != nil {
		s.fail(w, r, err)
		return call, false
	}
	return call, true
}

// language is the reader's language for messages: French when the
// Accept-Language header prefers it, English otherwise.
func language(r *http.Request) string {
	first, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(first)), forms.French) {
		return forms.French
	}
	return forms.English
}
