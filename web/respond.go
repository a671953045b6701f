package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"designate/engine"
)

// errMethod is the web layer's own code for a method a route does not take.
const errMethod = "method_not_allowed"

// statusOf maps each error code to its one HTTP status.
var statusOf = map[string]int{
	engine.EINVALID:           http.StatusBadRequest,
	engine.EUNAUTHORIZED:      http.StatusUnauthorized,
	engine.EFORBIDDEN:         http.StatusForbidden,
	engine.ENOTFOUND:          http.StatusNotFound,
	errMethod:                 http.StatusMethodNotAllowed,
	engine.ECONFLICT:          http.StatusConflict,
	engine.EINVALIDTRANSITION: http.StatusConflict,
	engine.EDEADLINEPASSED:    http.StatusConflict,
	engine.EQUOTAEXCEEDED:     http.StatusConflict,
	engine.ESTALEVERSION:      http.StatusConflict,
	engine.ETOOLARGE:          http.StatusRequestEntityTooLarge,
	engine.EINCOMPLETE:        http.StatusUnprocessableEntity,
	engine.ETHROTTLED:         http.StatusTooManyRequests,
	engine.EINTERNAL:          http.StatusInternalServerError,
	engine.EBUSY:              http.StatusServiceUnavailable,
	engine.EUNAVAILABLE:       http.StatusServiceUnavailable,
}

// statusFor is err's status, and sets the Retry-After a refusal carries
// (a throttled sign-in, a full commit queue): the one place JSON answers
// and pages take both from.
func statusFor(w http.ResponseWriter, err error) int {
	if wait := engine.ErrorRetryAfter(err); wait > 0 {
		w.Header().Set("Retry-After", retryAfter(wait))
	}
	if status, ok := statusOf[engine.ErrorCode(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every error.
type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
	} `json:"error"`
}

// fail answers with err's status and body, and records the refusal in the
// audit log. Internal errors are logged with their detail and shown to the
// client only as "Internal error."
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.answerError(w, r, err, true)
}

// failRecorded answers as fail does, for a refusal the engine has recorded
// in the audit log itself (a sign-in it turned down).
func (s *Server) failRecorded(w http.ResponseWriter, r *http.Request, err error) {
	s.answerError(w, r, err, false)
}

func (s *Server) answerError(w http.ResponseWriter, r *http.Request, err error, record bool) {
	code := engine.ErrorCode(err)
	if code == engine.EINTERNAL {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status := statusFor(w, err)
	var body errorBody
	body.Error.Code = code
	body.Error.Message = engine.ErrorMessage(err)
	body.Error.Fields = engine.ErrorFields(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="designate"`)
	}
	// Every refusal is recorded, so the admin sees who was turned away from
	// what: here, unless the engine did (a sign-in it checked and refused).
	// A sign-in refused before it reaches the engine (a malformed or
	// oversized body, a cross-site post) is recorded here like any other.
	if status < 500 && record {
		actor := actorOf(r)
		s.svc.Record(engine.AuditEvent{Actor: actor.Email, Role: actor.Role, Action: engine.AuditRefused,
			Method: r.Method, Path: r.URL.Path, Status: status, Code: code, Address: clientAddress(r)})
	}
	writeJSON(w, status, body)
}

// retryAfter is a wait in whole seconds, rounded up.
func retryAfter(wait time.Duration) string { return strconv.Itoa(int(wait.Seconds() + 0.999)) }

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Encoded whole before the status goes out, then written at once with
	// its length: a 22 KB dossier leaves in one write instead of chunks
	// through the connection's 4 KB buffer. json.Marshal escapes <, > and
	// & as an Encoder with SetEscapeHTML(true) does.
	body, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"code":"internal","message":"The answer could not be encoded."}` + "\n"))
		return
	}
	body = append(body, '\n')
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
