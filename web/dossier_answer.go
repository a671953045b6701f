package web

import (
	"net/http"
	"strings"
	"time"

	"designate/engine"
)

// minimalDossier is a write's answer when the client asked for no more
// (Prefer: return=minimal): what it needs to send its next write.
type minimalDossier struct {
	ID        string       `json:"id"`
	State     engine.State `json:"state"`
	Version   int          `json:"version"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// answerDossier answers a write with the dossier, whole unless the request
// prefers a minimal return (RFC 7240): a client saving a 20 KB dossier
// every few seconds then neither downloads it back nor makes the server
// encode it again.
func answerDossier(w http.ResponseWriter, r *http.Request, status int, app *engine.Application) {
	w.Header().Add("Vary", "Prefer")
	if !prefersMinimal(r) {
		writeJSON(w, status, app)
		return
	}
	w.Header().Set("Preference-Applied", "return=minimal")
	writeJSON(w, status, minimalDossier{ID: app.ID, State: app.State, Version: app.Version, UpdatedAt: app.UpdatedAt})
}

// prefersMinimal reports whether a Prefer header asks for return=minimal.
// Preferences are comma-separated, each possibly with parameters after a
// semicolon; names and the return value are case-insensitive.
func prefersMinimal(r *http.Request) bool {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, value, _ := strings.Cut(strings.TrimSpace(pref), "=")
			if strings.EqualFold(strings.TrimSpace(name), "return") &&
				strings.EqualFold(strings.Trim(strings.TrimSpace(value), `"`), "minimal") {
				return true
			}
		}
	}
	return false
}
