package engine

import (
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// State is where a dossier stands in its lifecycle (see Lifecycle).
type State string

// The states of a dossier.
const (
	Draft           State = "draft"
	Submitted       State = "submitted"
	Endorsed        State = "endorsed"
	NotEndorsed     State = "not_endorsed"
	Eligible        State = "eligible"
	Ineligible      State = "ineligible"
	UnderEvaluation State = "under_evaluation"
	Recommended     State = "recommended"
	NotRecommended  State = "not_recommended"
	Designated      State = "designated"
	NotDesignated   State = "not_designated"
	Withdrawn       State = "withdrawn"
	Lapsed          State = "lapsed"
)

// Summary is a dossier's head: who, where, its state, version and times.
// It is stored apart from the body (contacts and sections) and the list of
// attachments, so a move, which changes only the head, rewrites a few
// hundred bytes instead of the whole dossier, and a list reads heads only.
type Summary struct {
	ID          string     `json:"id"`
	Call        string     `json:"call"`
	City        string     `json:"city"`
	Country     string     `json:"country"`
	Field       string     `json:"field"`
	Language    string     `json:"language"`
	State       State      `json:"state"`
	Version     int        `json:"version"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	SubmittedAt *time.Time `json:"submitted_at"`
	// SubmissionDigest is the receipt's SHA-256 of what was submitted (see
	// SubmissionDigest); set at submission, cleared by a retraction.
	SubmissionDigest string `json:"submission_digest,omitempty"`
	// Owner is the account that created the dossier.
	Owner string `json:"owner"`
	// HiddenMoves counts the moves the results embargo hides from everyone
	// but the secretariat (see present); shown only to the secretariat.
	HiddenMoves int `json:"hidden_moves,omitempty"`
}

// Application is a city's dossier for one call: its head, and the body
// the city writes.
type Application struct {
	Summary
	Contacts Contacts          `json:"contacts"`
	Sections map[string]string `json:"sections"`
	// Attachments are the dossier's files, in the order of the call's slots.
	Attachments []Attachment `json:"attachments"`
}

// Contacts are the people the network writes to about a dossier.
type Contacts struct {
	Mayor          Contact `json:"mayor"`
	Representative Contact `json:"representative"`
	Main           Contact `json:"main"`
}

// Contact is one person's name, e-mail and phone.
type Contact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// LeftDraft reports whether the dossier was ever submitted. One that never
// left draft (a draft, or one lapsed or withdrawn from draft) is the city's
// own business: nobody else sees it.
func (a *Summary) LeftDraft() bool { return a.SubmittedAt != nil }

// Clone returns a copy that shares nothing with the original.
func (a *Summary) Clone() *Summary {
	b := *a
	if a.SubmittedAt != nil {
		t := *a.SubmittedAt
		b.SubmittedAt = &t
	}
	return &b
}

// Clone returns a deep copy, so a refused change never touches the
// original, and a copy kept by the store is never changed by its readers.
func (a *Application) Clone() *Application {
	b := *a
	b.Summary = *a.Summary.Clone()
	// maps.Clone and slices.Clone keep nil as nil and empty as empty, so
	// a copy encodes exactly as its original.
	b.Sections = maps.Clone(a.Sections)
	b.Attachments = slices.Clone(a.Attachments)
	return &b
}

// Per-field limits on what a draft may hold; generous, but bounded so a
// single dossier cannot fill the disk.
const (
	maxSectionBytes = 200_000
	maxNameChars    = 200
)

// checkDraft returns EINVALID with a message per field for what a draft may
// never hold (unknown sections, control characters, absurd lengths). A draft
// over a word limit is fine: the city must never lose what it typed.
func checkDraft(call *Call, a *Application) error {
	f := map[string]Text{}
	for id, text := range a.Sections {
		if call.Section(id) == nil {
			f["sections."+id] = T("not_a_section")
		} else if !validLongText(text, maxSectionBytes) {
			f["sections."+id] = T("text_too_long", maxSectionBytes)
		}
	}
	for name, c := range a.Contacts.each() {
		if c.Name != "" && !ValidText(c.Name, 1, maxNameChars) {
			f["contacts."+name+".name"] = T("bad_name")
		}
		if c.Email != "" && !validEmail(c.Email) {
			f["contacts."+name+".email"] = T("bad_email")
		}
		if c.Phone != "" && !validPhone(c.Phone) {
			f["contacts."+name+".phone"] = T("bad_phone")
		}
	}
	if !call.HasField(a.Field) {
		f["field"] = T("not_a_field", strings.Join(call.Fields, ", "))
	}
	if !call.HasLanguage(a.Language) {
		f["language"] = T("not_a_language", strings.Join(call.Languages, ", "))
	}
	if len(f) > 0 {
		return FieldTexts(EINVALID, "The dossier cannot be saved.", f)
	}
	return nil
}

// checkComplete returns EINCOMPLETE with a message per field when the dossier
// cannot be submitted: a required section empty or any section over its word
// limit, a contact incomplete, or a slot short of its files.
func checkComplete(call *Call, a *Application) error {
	f := map[string]Text{}
	for _, s := range call.Sections {
		text := a.Sections[s.ID]
		n := WordCount(text)
		if s.Required && n == 0 {
			f["sections."+s.ID] = T("section_required", s.Title)
		} else if n > s.WordLimit {
			f["sections."+s.ID] = T("section_over", s.Title, n, s.WordLimit)
		}
	}
	for name, c := range a.Contacts.each() {
		if strings.TrimSpace(c.Name) == "" {
			f["contacts."+name+".name"] = T("required")
		}
		if !validEmail(c.Email) {
			f["contacts."+name+".email"] = T("bad_email")
		}
		if !validPhone(c.Phone) {
			f["contacts."+name+".phone"] = T("bad_phone")
		}
	}
	checkAttachments(call, a, f)
	if len(f) > 0 {
		return FieldTexts(EINCOMPLETE, "The dossier is not complete.", f)
	}
	return nil
}

// each names the contacts, for messages keyed by their JSON path.
func (c *Contacts) each() map[string]Contact {
	return map[string]Contact{"mayor": c.Mayor, "representative": c.Representative, "main": c.Main}
}

func validEmail(s string) bool {
	if len(s) > 254 || !ValidText(s, 3, 254) {
		return false
	}
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s && addr.Name == ""
}

// validPhone accepts international formats: digits with spaces, dots, dashes,
// parentheses and a leading +, 6 to 20 digits.
func validPhone(s string) bool {
	if len(s) > 40 {
		return false
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return false
		}
	}
	return digits >= 6 && digits <= 20
}

// States lists every dossier state, in the order of the lifecycle.
var States = []State{Draft, Submitted, Endorsed, NotEndorsed, Eligible, Ineligible, UnderEvaluation,
	Recommended, NotRecommended, Designated, NotDesignated, Withdrawn, Lapsed}

// ValidState reports whether s is a dossier state.
func ValidState(s State) bool { return containsState(States, s) }
