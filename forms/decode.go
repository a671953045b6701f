// Package forms turns requests into the engine's inputs: it decodes bodies
// strictly, validates them with validator/v10, and says what is wrong with
// each field in the reader's language.
package forms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"designate/engine"
)

// MaxBody is the largest JSON body the API reads (1 MiB).
const MaxBody = 1 << 20

// DecodeJSON reads one JSON object from body into dst, refusing what a
// lenient decoder would let through: invalid UTF-8 (which encoding/json would
// silently replace), NUL bytes, unknown fields, trailing data and values of
// the wrong type. Errors are *engine.Error: ETOOLARGE past the cap (the
// caller wraps body in http.MaxBytesReader), EINVALID otherwise.
func DecodeJSON(body io.Reader, dst any) error {
	raw, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return engine.Errorf(engine.ETOOLARGE, "The request body is larger than %d bytes.", tooLarge.Limit)
	} else if err != nil {
		return engine.Errorf(engine.EINVALID, "The request body could not be read.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return engine.Errorf(engine.EINVALID, "The request body is empty: send a JSON object.")
	}
	if !utf8.Valid(raw) {
		return engine.Errorf(engine.EINVALID, "The request body is not valid UTF-8.")
	}
	if bytes.Contains(raw, []byte(`\u0000`)) || bytes.IndexByte(raw, 0) >= 0 {
		return engine.Errorf(engine.EINVALID, "The request body contains a NUL character.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Only JSON whitespace may follow the value. dec.More() is not enough: it
	// reports false for a trailing '}' or ']', so `{...}}` would pass.
	if len(bytes.TrimLeft(raw[dec.InputOffset():], " \t\r\n")) > 0 {
		return engine.Errorf(engine.EINVALID, "The request body has data after the JSON object.")
	}
	return nil
}

// decodeError explains a decoding failure, per field where it can.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return engine.Errorf(engine.EINVALID, "The request body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return engine.Errorf(engine.EINVALID, "The request body is cut short: it is not complete JSON.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return engine.Errorf(engine.EINVALID, "The request body must be a JSON object.")
		}
		return engine.FieldErrors(engine.EINVALID, "A field has the wrong type.",
			map[string]string{field: fmt.Sprintf("must be %s", jsonKind(typ.Type.Kind().String()))})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The name is quoted with %q: unquote it rather than trim quotes, so
		// a name with quotes or escapes comes back as sent.
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil || name == "" || len(name) > 64 {
			return engine.Errorf(engine.EINVALID, "The request has a field this API does not know.")
		}
		return engine.FieldErrors(engine.EINVALID, "The request has a field this API does not know.",
			map[string]string{name: "is not a known field"})
	}
	// Values with their own parsers (instants, durations) end here; their
	// message names what was expected without echoing the input.
	msg := err.Error()
	if strings.Contains(msg, "parsing time") {
		msg = "an instant must be RFC 3339, such as 2027-06-30T23:59:00+02:00"
	}
	return engine.Errorf(engine.EINVALID, "The request body could not be read: %s.", strings.TrimPrefix(msg, "json: "))
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "a number in range"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "true or false"
	case goKind == "slice":
		return "a list"
	case goKind == "map", goKind == "struct":
		return "an object"
	}
	return "of another type"
}
