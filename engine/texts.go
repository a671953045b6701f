package engine

import (
	"errors"
	"fmt"
	"sort"
)

// Text is a message for people about one input, in a form the pages can
// translate: a key and its arguments. Its English text (String) is what the
// API sends; the pages look the key up in their catalogs ("msg.<key>") and
// format the arguments in the reader's language (a Localized argument
// gives its own language's title, a ByteSize its own units).
type Text struct {
	Key  string
	Args []any
}

// T is the text of key with args.
func T(key string, args ...any) Text { return Text{Key: key, Args: args} }

// String is the English text.
func (t Text) String() string {
	format, ok := texts[t.Key]
	if !ok {
		return t.Key
	}
	return fmt.Sprintf(format, t.Args...)
}

// texts are the English texts of the keys, as fmt formats. Every key has a
// French text in the pages' catalog (a test holds both to it).
var texts = map[string]string{
	"required":            "is required",
	"not_a_section":       "is not a section of this call",
	"text_too_long":       "must be text of at most %d bytes",
	"bad_name":            "must be a name of at most 200 characters",
	"bad_email":           "must be an e-mail address",
	"bad_phone":           "must be a phone number such as +33 1 45 68 10 00",
	"not_a_field":         "must be one of the call's creative fields: %s",
	"not_a_language":      "must be one of the call's languages: %s",
	"section_required":    "%q is required",
	"section_over":        "%q has %d words; the limit is %d",
	"slot_required":       "%q is required",
	"slot_short":          "%q needs %d files; it has %d",
	"slot_over":           "%q takes at most %d files; it has %d",
	"slot_full":           "%q holds its %d file(s) already: replace or delete one",
	"file_empty":          "is empty (0 bytes)",
	"file_too_large":      "is over the %s limit of a file in %q",
	"files_too_large":     "would bring the dossier's files over their total limit",
	"files_total":         "the dossier's files may total %s; they total %s already",
	"file_wrong_type":     "is a %s file; %q accepts %s",
	"file_same":           "holds this same file already, as file %d (%q)",
	"file_unknown_type":   "is not a PDF, JPEG or PNG file (its content was checked, not its name)",
	"file_unreadable":     "could not be read",
	"pdf_damaged":         "is a damaged or truncated PDF (it lacks its trailer)",
	"image_damaged":       "is a damaged %s image",
	"image_truncated":     "is a damaged or truncated %s image",
	"image_too_big":       "is %d×%d pixels; an image may have at most %d megapixels and %d pixels a side",
	"filename_too_long":   "must be UTF-8 text of at most 255 bytes",
	"filename_slash":      "must not contain / or \\",
	"filename_not_a_name": "is not a file name",
	"filename_control":    "must not contain control or invisible formatting characters",
	"reason_required":     "is required: say why, in at most 2000 characters",
	// Messages of a whole refusal (Refusal), not of one input.
	"quota_full":              "%s already has %d endorsed dossier(s) in this call, the most allowed.",
	"quota_field":             "%s already has an endorsed dossier in %s; endorsed dossiers must be in different fields.",
	"wrong_password":          "Wrong e-mail or password.",
	"not_a_criterion":         "is not a criterion of this call's review form",
	"score_off_scale":         "must be a score from %d to %d",
	"score_required":          "%q needs a score",
	"comment_too_long":        "must be at most %d characters",
	"bad_recommendation":      "must be recommend or do_not_recommend",
	"recommendation_required": "is required in a final review",
	"not_an_evaluator":        "must be an active evaluator account",
	"not_a_kind":              "must be expert or member_city",
	"not_member_city":         "is not a member city of %s",
	"conflict_own_country":    "Conflict of interest: %s is of %s, the dossier's own country.",
	"conflict_declared":       "Conflict of interest: %s declared one on this dossier (%s).",
}

// TextFormat is the English format of key, for the test that holds the
// translations to the same arguments.
func TextFormat(key string) (string, bool) {
	f, ok := texts[key]
	return f, ok
}

// TextKeys lists every key, for the test that holds the catalogs to them.
func TextKeys() []string {
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FieldTexts returns an *Error with a translatable message per field; its
// Fields hold the English texts.
func FieldTexts(code, message string, fields map[string]Text) *Error {
	e := &Error{Code: code, Message: message, Fields: make(map[string]string, len(fields)), Texts: fields}
	for k, t := range fields {
		e.Fields[k] = t.String()
	}
	return e
}

// Refusal returns an *Error whose message is a translatable text.
func Refusal(code string, text Text) *Error {
	return &Error{Code: code, Message: text.String(), Text: &text}
}

// ErrorText returns the translatable message of err, if it has one.
func ErrorText(err error) *Text {
	var e *Error
	if errors.As(err, &e) {
		return e.Text
	}
	return nil
}

// ErrorTexts returns the translatable per-field messages of err, if any.
func ErrorTexts(err error) map[string]Text {
	var e *Error
	if errors.As(err, &e) {
		return e.Texts
	}
	return nil
}

// FieldName is a creative field as an argument of a Text, so that a page
// names it in its reader's language.
type FieldName string

// String is the field's name.
func (f FieldName) String() string { return string(f) }

// String is the English title, so a Localized argument of a Text reads
// well in the API's messages.
func (l Localized) String() string { return l.EN }
