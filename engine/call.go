package engine

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// CallState is where a call for applications stands.
type CallState string

// The states of a call, in the order a call passes through them.
const (
	CallPlanned    CallState = "planned"
	CallOpen       CallState = "open"
	CallClosed     CallState = "closed"
	CallEvaluation CallState = "evaluation"
	CallAnnounced  CallState = "announced"
	CallArchived   CallState = "archived"
)

// Call is one call for applications: its phases, the creative fields it
// accepts, its country rules and the dossier form cities fill in.
type Call struct {
	ID                  string    `json:"id"`
	Title               string    `json:"title"`
	State               CallState `json:"state"`
	TimeZone            string    `json:"time_zone"`
	Fields              []string  `json:"fields"`
	Languages           []string  `json:"languages"`
	OpensAt             time.Time `json:"opens_at"`
	SubmissionDeadline  time.Time `json:"submission_deadline"`
	Grace               Duration  `json:"grace"`
	EndorsementDeadline time.Time `json:"endorsement_deadline"`
	EvaluationDeadline  time.Time `json:"evaluation_deadline"`
	AnnouncementAt      time.Time `json:"announcement_at"`
	MaxPerCountry       int       `json:"max_per_country"`
	DistinctFields      bool      `json:"distinct_fields"`
	Sections            []Section `json:"sections"`
	// Attachments are the files the dossier form asks for, and
	// MaxAttachmentBytes caps their total in one dossier.
	Attachments        []AttachmentSlot `json:"attachments"`
	MaxAttachmentBytes ByteSize         `json:"max_attachment_bytes"`
	// Review is the form evaluators fill in; a call without criteria
	// takes no reviews.
	Review      ReviewForm `json:"review"`
	Version     int        `json:"version"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	AnnouncedAt *time.Time `json:"announced_at,omitempty"`
}

// Section is one narrative part of the dossier form.
type Section struct {
	ID        string    `json:"id"`
	Title     Localized `json:"title"`
	WordLimit int       `json:"word_limit" yaml:"word_limit"`
	Required  bool      `json:"required"`
}

// Localized is a text in each language the network works in.
type Localized struct {
	EN string `json:"en"`
	FR string `json:"fr"`
}

// Clone returns a deep copy, so a copy kept by the store is never changed
// by its readers.
func (c *Call) Clone() *Call {
	d := *c
	// slices.Clone keeps nil as nil and empty as empty, so a copy encodes
	// exactly as its original.
	d.Fields = slices.Clone(c.Fields)
	d.Languages = slices.Clone(c.Languages)
	d.Sections = slices.Clone(c.Sections)
	d.Attachments = slices.Clone(c.Attachments)
	for i := range d.Attachments {
		d.Attachments[i].Types = slices.Clone(c.Attachments[i].Types)
	}
	d.Review.Criteria = slices.Clone(c.Review.Criteria)
	if c.AnnouncedAt != nil {
		t := *c.AnnouncedAt
		d.AnnouncedAt = &t
	}
	return &d
}

// Close is the enforced close: the submission deadline plus the grace period.
// The deadline is what cities are shown; the close is what the engine enforces.
func (c *Call) Close() time.Time { return c.SubmissionDeadline.Add(time.Duration(c.Grace)) }

// Location is the call's time zone; UTC if the name is unknown.
func (c *Call) Location() *time.Location {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// HasField reports whether the call accepts the creative field.
func (c *Call) HasField(field string) bool { return contains(c.Fields, field) }

// HasLanguage reports whether the call accepts dossiers in the language.
func (c *Call) HasLanguage(lang string) bool { return contains(c.Languages, lang) }

// Section returns the section with the id, or nil.
func (c *Call) Section(id string) *Section {
	for i := range c.Sections {
		if c.Sections[i].ID == id {
			return &c.Sections[i]
		}
	}
	return nil
}

// Languages a dossier may be written in: the network works in English and French.
var supportedLanguages = []string{"en", "fr"}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// zoneRE is the form of a canonical IANA zone name ("Europe/Paris",
// "America/Argentina/Buenos_Aires", "UTC"): it keeps out names such as
// "./UTC" or "Europe//Paris" that load from some zoneinfo files but not from
// the database embedded in the binary.
var zoneRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`)

// ValidTimeZone reports whether name is a canonical IANA time zone this
// binary knows.
func ValidTimeZone(name string) bool {
	if !zoneRE.MatchString(name) || name == "Local" {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// ValidSlug reports whether s can name a call or a section: lower-case
// letters, digits and dashes, so it is safe in a URL and a storage key.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// Validate checks the call's rules and returns EINVALID with a message per
// field for each one broken.
func (c *Call) Validate() error {
	f := map[string]string{}
	if !ValidSlug(c.ID) {
		f["id"] = "must be 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit"
	}
	if !ValidText(c.Title, 1, 200) {
		f["title"] = "is required, at most 200 characters"
	}
	if !ValidTimeZone(c.TimeZone) {
		f["time_zone"] = "must be an IANA time zone name such as Europe/Paris"
	}
	if len(c.Fields) == 0 {
		f["fields"] = "must list at least one creative field"
	}
	for i, name := range c.Fields {
		if !ValidText(name, 1, 80) {
			f[fmt.Sprintf("fields[%d]", i)] = "must be a name of 1 to 80 characters"
		} else if indexOf(c.Fields[:i], name) >= 0 {
			f[fmt.Sprintf("fields[%d]", i)] = "is listed twice"
		}
	}
	if len(c.Languages) == 0 {
		f["languages"] = "must list at least one of en, fr"
	}
	for i, lang := range c.Languages {
		if !contains(supportedLanguages, lang) || indexOf(c.Languages[:i], lang) >= 0 {
			f[fmt.Sprintf("languages[%d]", i)] = "must be en or fr, each once"
		}
	}
	instants := []struct {
		name string
		t    time.Time
	}{
		{"opens_at", c.OpensAt},
		{"submission_deadline", c.SubmissionDeadline},
		{"endorsement_deadline", c.EndorsementDeadline},
		{"evaluation_deadline", c.EvaluationDeadline},
		{"announcement_at", c.AnnouncementAt},
	}
	for _, in := range instants {
		if in.t.IsZero() {
			f[in.name] = "is required"
		} else if in.t.Year() < 2000 || in.t.Year() > 9999 {
			f[in.name] = "must be a date between the years 2000 and 9999"
		}
	}
	if c.Grace < 0 || time.Duration(c.Grace) > 7*24*time.Hour {
		f["grace"] = "must be between 0s and 168h"
	}
	if !c.OpensAt.IsZero() && !c.SubmissionDeadline.IsZero() && !c.EndorsementDeadline.IsZero() &&
		!c.EvaluationDeadline.IsZero() && !c.AnnouncementAt.IsZero() {
		// The phases follow one another; the close (deadline plus grace) must
		// come before endorsements end.
		switch {
		case !c.OpensAt.Before(c.SubmissionDeadline):
			f["submission_deadline"] = "must be after opens_at"
		case c.EndorsementDeadline.Before(c.Close()):
			f["endorsement_deadline"] = "must not be before submission_deadline plus grace"
		case c.EvaluationDeadline.Before(c.EndorsementDeadline):
			f["evaluation_deadline"] = "must not be before endorsement_deadline"
		case c.AnnouncementAt.Before(c.EvaluationDeadline):
			f["announcement_at"] = "must not be before evaluation_deadline"
		}
	}
	if c.MaxPerCountry < 1 || c.MaxPerCountry > 1000 {
		f["max_per_country"] = "must be between 1 and 1000"
	}
	if len(c.Sections) == 0 {
		f["sections"] = "must list at least one section"
	}
	for i, s := range c.Sections {
		key := fmt.Sprintf("sections[%d]", i)
		if !ValidSlug(s.ID) {
			f[key+".id"] = "must be lower-case letters, digits or dashes"
		} else if c.Section(s.ID) != &c.Sections[i] {
			f[key+".id"] = "is used by another section"
		}
		if !ValidText(s.Title.EN, 1, 300) || !ValidText(s.Title.FR, 1, 300) {
			f[key+".title"] = "needs an English and a French title of at most 300 characters"
		}
		if s.WordLimit < 1 || s.WordLimit > 100000 {
			f[key+".word_limit"] = "must be between 1 and 100000"
		}
	}
	c.validateAttachments(f)
	c.Review.validate(f)
	if len(f) > 0 {
		return FieldErrors(EINVALID, "The call is not valid.", f)
	}
	return nil
}

// Duration is a time.Duration written as a Go duration string ("30m") in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "1h30m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"30m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("a duration must be a string such as \"30m\"")
	}
	*d = Duration(v)
	return nil
}

func contains(list []string, s string) bool { return indexOf(list, s) >= 0 }

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
