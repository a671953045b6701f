package forms

import "designate/engine"

// UserForm is the body of POST /api/v1/users.
type UserForm struct {
	Email    string `json:"email" validate:"required,email,max=254"`
	Password string `json:"password" validate:"required,min=10,max=72"`
	Role     string `json:"role" validate:"required,oneof=applicant commission evaluator secretariat admin"`
	Country  string `json:"country" validate:"omitempty,country"`
	City     string `json:"city" validate:"max=200"`
	Field    string `json:"field" validate:"max=200"`
	Language string `json:"language" validate:"omitempty,oneof=en fr"`
}

// NewUser returns the engine's input.
func (f *UserForm) NewUser() engine.NewUser {
	return engine.NewUser{Email: f.Email, Password: f.Password, Role: engine.Role(f.Role), Country: f.Country, City: f.City, Field: f.Field, Language: f.Language}
}

// UserChangeForm is the body of PATCH /api/v1/users/{id}; what is left out
// is kept.
type UserChangeForm struct {
	Role     *string `json:"role" validate:"omitempty,oneof=applicant commission evaluator secretariat admin"`
	Country  *string `json:"country" validate:"omitempty,max=2"`
	City     *string `json:"city" validate:"omitempty,max=200"`
	Field    *string `json:"field" validate:"omitempty,max=200"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password" validate:"omitempty,min=10,max=72"`
	Language *string `json:"language" validate:"omitempty,oneof=en fr"`
}

// UserChange returns the engine's input.
func (f *UserChangeForm) UserChange() engine.UserChange {
	ch := engine.UserChange{Country: f.Country, City: f.City, Field: f.Field, Disabled: f.Disabled, Password: f.Password, Language: f.Language}
	if f.Role != nil {
		r := engine.Role(*f.Role)
		ch.Role = &r
	}
	return ch
}

// PasswordForm is the body of POST /api/v1/me/password.
type PasswordForm struct {
	Current string `json:"current_password" validate:"required,max=200"`
	New     string `json:"new_password" validate:"required,max=200"`
}
