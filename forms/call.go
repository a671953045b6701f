package forms

import (
	"maps"
	"time"

	"designate/engine"
)

// CallForm is the body of POST /api/v1/calls and PUT /api/v1/calls/{call}.
type CallForm struct {
	ID                  string           `json:"id" validate:"required,slug"`
	Title               string           `json:"title" validate:"required,max=200"`
	TimeZone            string           `json:"time_zone" validate:"required,timezone"`
	Fields              []string         `json:"fields" validate:"required,min=1,max=50,unique,dive,required,max=80"`
	Languages           []string         `json:"languages" validate:"required,min=1,max=2,unique,dive,oneof=en fr"`
	OpensAt             time.Time        `json:"opens_at" validate:"required"`
	SubmissionDeadline  time.Time        `json:"submission_deadline" validate:"required"`
	Grace               *engine.Duration `json:"grace"`
	EndorsementDeadline time.Time        `json:"endorsement_deadline" validate:"required"`
	EvaluationDeadline  time.Time        `json:"evaluation_deadline" validate:"required"`
	AnnouncementAt      time.Time        `json:"announcement_at" validate:"required"`
	MaxPerCountry       *int             `json:"max_per_country" validate:"omitempty,min=1,max=1000"`
	DistinctFields      *bool            `json:"distinct_fields"`
	Sections            []SectionForm    `json:"sections" validate:"required,min=1,max=100,dive"`
	Attachments         []SlotForm       `json:"attachments" validate:"max=30,dive"`
	MaxAttachmentBytes  *engine.ByteSize `json:"max_attachment_bytes" validate:"omitempty,min=1"`
	Review              *ReviewFormForm  `json:"review"`
	Version             int              `json:"version" validate:"min=0"`
	// State is read-only; accepted so a client may send back what it got.
	State string `json:"state"`
}

// SectionForm is one section of the dossier form.
type SectionForm struct {
	ID        string           `json:"id" validate:"required,slug"`
	Title     engine.Localized `json:"title"`
	WordLimit int              `json:"word_limit" validate:"required,min=1,max=100000"`
	Required  bool             `json:"required"`
}

// SlotForm is one attachment slot of the dossier form.
type SlotForm struct {
	ID       string            `json:"id" validate:"required,slug"`
	Title    engine.Localized  `json:"title"`
	Types    []engine.FileType `json:"types" validate:"required,min=1,max=3,unique,dive,oneof=pdf jpeg png"`
	MaxBytes engine.ByteSize   `json:"max_bytes" validate:"required,min=1"`
	Files    int               `json:"files" validate:"omitempty,min=1,max=20"`
	Required bool              `json:"required"`
}

// ReviewFormForm is the call's review form: criteria on one scale.
type ReviewFormForm struct {
	Criteria     []CriterionForm `json:"criteria" validate:"max=30,dive"`
	ScaleMin     int             `json:"scale_min" validate:"min=0,max=99"`
	ScaleMax     int             `json:"scale_max" validate:"omitempty,min=1,max=100"`
	Disagreement float64         `json:"disagreement" validate:"min=0"`
}

// CriterionForm is one criterion of the review form.
type CriterionForm struct {
	ID     string           `json:"id" validate:"required,slug"`
	Title  engine.Localized `json:"title"`
	Weight float64          `json:"weight" validate:"omitempty,gt=0,max=100"`
}

// DefaultMaxAttachmentBytes caps a dossier's files when a call with slots
// does not say: 20 MB, the network's cap in 2019.
const DefaultMaxAttachmentBytes engine.ByteSize = 20e6

// Call returns the engine's call, with the documented defaults: grace 0s,
// max_per_country 2, distinct_fields true, a slot holds 1 file, a dossier's
// files total at most 20 MB, reviews scored 1 to 5 with each criterion
// weighing 1. The engine checks the rest (the
// order of the phases, the section titles).
func (f *CallForm) Call() engine.Call {
	c := engine.Call{
		ID: f.ID, Title: f.Title, TimeZone: f.TimeZone, Fields: f.Fields, Languages: f.Languages,
		OpensAt: f.OpensAt, SubmissionDeadline: f.SubmissionDeadline,
		EndorsementDeadline: f.EndorsementDeadline, EvaluationDeadline: f.EvaluationDeadline,
		AnnouncementAt: f.AnnouncementAt, MaxPerCountry: 2, DistinctFields: true, Version: f.Version,
	}
	if f.Grace != nil {
		c.Grace = *f.Grace
	}
	if f.MaxPerCountry != nil {
		c.MaxPerCountry = *f.MaxPerCountry
	}
	if f.DistinctFields != nil {
		c.DistinctFields = *f.DistinctFields
	}
	for _, s := range f.Sections {
		c.Sections = append(c.Sections, engine.Section{ID: s.ID, Title: s.Title, WordLimit: s.WordLimit, Required: s.Required})
	}
	for _, s := range f.Attachments {
		slot := engine.AttachmentSlot{ID: s.ID, Title: s.Title, Types: s.Types, MaxBytes: s.MaxBytes, Files: s.Files, Required: s.Required}
		if slot.Files == 0 {
			slot.Files = 1
		}
		c.Attachments = append(c.Attachments, slot)
	}
	if len(c.Attachments) > 0 {
		c.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if f.MaxAttachmentBytes != nil {
		c.MaxAttachmentBytes = *f.MaxAttachmentBytes
	}
	if f.Review != nil {
		c.Review = engine.ReviewForm{ScaleMin: f.Review.ScaleMin, ScaleMax: f.Review.ScaleMax, Disagreement: f.Review.Disagreement}
		if c.Review.ScaleMax == 0 {
			c.Review.ScaleMin, c.Review.ScaleMax = 1, 5
		}
		for _, cr := range f.Review.Criteria {
			if cr.Weight == 0 {
				cr.Weight = 1
			}
			c.Review.Criteria = append(c.Review.Criteria, engine.Criterion{ID: cr.ID, Title: cr.Title, Weight: cr.Weight})
		}
	}
	return c
}

// Check validates the form and then the call's domain rules (the order of
// the phases, the section titles), and returns the call or EINVALID with
// every problem of both at once, so a client fixes them in one round.
func (f *CallForm) Check(lang string) (engine.Call, error) {
	c := f.Call()
	fields := map[string]string{}
	if err := Validate(f, lang); err != nil {
		if engine.ErrorFields(err) == nil {
			return c, err
		}
		maps.Copy(fields, engine.ErrorFields(err))
	}
	for k, v := range engine.ErrorFields(c.Validate()) {
		if _, said := fields[k]; !said {
			fields[k] = v
		}
	}
	if len(fields) > 0 {
		return c, engine.FieldErrors(engine.EINVALID, "The call is not valid.", fields)
	}
	return c, nil
}
