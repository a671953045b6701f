package engine

import (
	"regexp"
	"time"
)

// Role is what an account does in the designation process.
type Role string

// The roles. RoleSystem is the engine itself acting when an instant passes;
// no account has it.
const (
	RoleApplicant   Role = "applicant"
	RoleCommission  Role = "commission"
	RoleEvaluator   Role = "evaluator"
	RoleSecretariat Role = "secretariat"
	RoleAdmin       Role = "admin"
	RoleSystem      Role = "system"
)

// Roles are the roles an account may have.
var Roles = []Role{RoleApplicant, RoleCommission, RoleEvaluator, RoleSecretariat, RoleAdmin}

// User is an account.
type User struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Role    Role   `json:"role"`
	Country string `json:"country,omitempty"`
	City    string `json:"city,omitempty"`
	// Field is the creative field a member-city evaluator is a member in:
	// it is consulted on dossiers of that field only.
	Field string `json:"field,omitempty"`
	// Language is the one the account reads in (en, fr).
	Language     string    `json:"language"`
	Disabled     bool      `json:"disabled"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Session is a signed-in account. Only the hash of its token is stored, so a
// copy of the database does not let anyone sign in.
type Session struct {
	TokenHash string    `json:"token_hash"`
	UserID    string    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// LastSeen is when the session was last used, to the minute: a session
	// idle longer than the service's SessionIdle ends.
	LastSeen time.Time `json:"last_seen"`
}

// Actor is who asks the engine to do something: a signed-in user, the
// system, or nobody (the zero Actor, the public).
type Actor struct {
	UserID  string
	Email   string
	Role    Role
	Country string
	City    string
	// Language is the one the account reads in (en, fr); "" for the public.
	Language string
}

// System is the engine acting by itself when an instant passes.
var System = Actor{UserID: "system", Email: "system", Role: RoleSystem}

// Anonymous reports whether nobody is signed in.
func (a Actor) Anonymous() bool { return a.Role == "" }

// Staff reports whether the actor runs the process (secretariat or admin).
func (a Actor) Staff() bool { return a.Role == RoleSecretariat || a.Role == RoleAdmin }

// ActorOf is the actor a user acts as.
func ActorOf(u *User) Actor {
	return Actor{UserID: u.ID, Email: u.Email, Role: u.Role, Country: u.Country, City: u.City, Language: u.Language}
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 code assigned to
// a country or territory.
func ValidCountry(code string) bool {
	return countryRE.MatchString(code) && isoCountries[code]
}
