package forms

import "designate/engine"

// ApplicationForm is the body of POST /api/v1/calls/{call}/applications.
type ApplicationForm struct {
	City     string `json:"city" validate:"required,max=200"`
	Country  string `json:"country" validate:"required,country"`
	Field    string `json:"field" validate:"required,max=80"`
	Language string `json:"language" validate:"required,oneof=en fr"`
}

// NewApplication returns the engine's input for the call.
func (f *ApplicationForm) NewApplication(call string) engine.NewApplication {
	return engine.NewApplication{Call: call, City: f.City, Country: f.Country, Field: f.Field, Language: f.Language}
}

// DraftForm is the body of PUT /api/v1/applications/{id}: the whole
// editable content of a draft at the version it was read.
type DraftForm struct {
	Version  int               `json:"version" validate:"required,min=1"`
	Contacts ContactsForm      `json:"contacts"`
	Sections map[string]string `json:"sections" validate:"max=100"`
	Field    string            `json:"field" validate:"max=80"`
	Language string            `json:"language" validate:"omitempty,oneof=en fr"`
}

// ContactsForm are a draft's contacts; any may still be empty in a draft.
type ContactsForm struct {
	Mayor          ContactForm `json:"mayor"`
	Representative ContactForm `json:"representative"`
	Main           ContactForm `json:"main"`
}

// ContactForm is one contact. Submission requires every part; a draft only
// requires that what is there has the right form.
type ContactForm struct {
	Name  string `json:"name" validate:"max=200"`
	Email string `json:"email" validate:"omitempty,email,max=254"`
	Phone string `json:"phone" validate:"max=40"`
}

// DraftEdit returns the engine's input.
func (f *DraftForm) DraftEdit() engine.DraftEdit {
	c := func(x ContactForm) engine.Contact {
		return engine.Contact{Name: x.Name, Email: x.Email, Phone: x.Phone}
	}
	return engine.DraftEdit{
		Version:  f.Version,
		Contacts: engine.Contacts{Mayor: c(f.Contacts.Mayor), Representative: c(f.Contacts.Representative), Main: c(f.Contacts.Main)},
		Sections: f.Sections, Field: f.Field, Language: f.Language,
	}
}

// TransitionForm is the body of POST /api/v1/applications/{id}/transitions.
type TransitionForm struct {
	Event   string `json:"event" validate:"required,event"`
	Note    string `json:"note" validate:"max=2000"`
	Version *int   `json:"version" validate:"omitempty,min=1"`
}

// Move returns the engine's input.
func (f *TransitionForm) Move() engine.Move {
	return engine.Move{Event: f.Event, Note: f.Note, Version: f.Version}
}

// CallEventForm is the body of POST /api/v1/calls/{call}/transitions.
type CallEventForm struct {
	Event string `json:"event" validate:"required,oneof=open close evaluate announce archive"`
}

// LoginForm is the body of POST /api/v1/login.
type LoginForm struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=200"`
	// SessionCookie asks for the session as a cookie too, for a browser.
	SessionCookie bool `json:"session_cookie"`
}

// AssignmentForm is the body of POST /api/v1/applications/{id}/assignments.
type AssignmentForm struct {
	Evaluator string `json:"evaluator" validate:"required,len=16"`
	Kind      string `json:"kind" validate:"required,oneof=expert member_city"`
}

// ReviewForm is the body of PUT /api/v1/applications/{id}/review.
type ReviewForm struct {
	Scores         map[string]int `json:"scores" validate:"max=30"`
	Comment        string         `json:"comment" validate:"max=20000"`
	Recommendation string         `json:"recommendation" validate:"omitempty,oneof=recommend do_not_recommend"`
	Final          bool           `json:"final"`
	Version        *int           `json:"version" validate:"omitempty,min=0"`
}

// Edit returns the engine's input.
func (f *ReviewForm) Edit() engine.ReviewEdit {
	return engine.ReviewEdit{Scores: f.Scores, Comment: f.Comment, Recommendation: f.Recommendation, Final: f.Final, Version: f.Version}
}

// ConflictForm is the body of POST /api/v1/applications/{id}/conflict.
type ConflictForm struct {
	Reason string `json:"reason" validate:"required,max=2000"`
}
