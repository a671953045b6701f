// Package engine is the domain of designate: calls for applications, the
// dossiers cities submit to them, the lifecycle every dossier moves through,
// who may move it, and the rules that refuse a move. It knows nothing of
// storage or HTTP; adapters implement the interfaces it declares.
package engine

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. The code is for programs (the web layer maps each to one HTTP
// status); the message is safe to show to a person.
const (
	EINVALID           = "invalid"
	EUNAUTHORIZED      = "unauthorized"
	EFORBIDDEN         = "forbidden"
	ENOTFOUND          = "not_found"
	ECONFLICT          = "conflict"
	EINVALIDTRANSITION = "invalid_transition"
	EDEADLINEPASSED    = "deadline_passed"
	EQUOTAEXCEEDED     = "quota_exceeded"
	ESTALEVERSION      = "stale_version"
	ETOOLARGE          = "too_large"
	EINCOMPLETE        = "incomplete"
	ETHROTTLED         = "too_many_requests"
	EINTERNAL          = "internal"
	// EBUSY: the server takes no more writes for now (its commit queue is
	// full); nothing was written, and the caller may try again after the
	// error's RetryAfter.
	EBUSY = "busy"
	// EUNAVAILABLE: the server could not make a write durable and is
	// stopping; whether that write is kept is unknown until it restarts.
	EUNAVAILABLE = "unavailable"
)

// Error is a refusal the engine explains: a code, a message for people and,
// where the refusal is about input, a message per field.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// Texts, when set, are the Fields as translatable texts (same keys).
	Texts map[string]Text
	// Text, when set, is Message as a translatable text.
	Text *Text
	// RetryAfter says when a throttled caller may try again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("designate error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors returns an *Error whose fields say what is wrong with each.
func FieldErrors(code, message string, fields map[string]string) *Error {
	return &Error{Code: code, Message: message, Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL
// for any other error, or "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain;
// other errors get a generic message, because their text may leak internals.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the per-field messages of err, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// IsRefusal reports whether err is a decision of the engine (an *Error other
// than EINTERNAL, EBUSY or EUNAVAILABLE) rather than a failure.
func IsRefusal(err error) bool {
	switch ErrorCode(err) {
	case "", EINTERNAL, EBUSY, EUNAVAILABLE:
		return false
	}
	return true
}

// ErrorRetryAfter returns how long a throttled caller must wait, or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
