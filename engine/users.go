package engine

import (
	"context"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLength is the shortest password an account may have.
const MinPasswordLength = 10

// NewUser is what it takes to make an account.
type NewUser struct {
	Email    string
	Password string
	Role     Role
	Country  string
	City     string
	Field    string
	Language string
}

// UserChange is what the admin may change of an account; nil keeps a value.
type UserChange struct {
	Role     *Role
	Country  *string
	City     *string
	Field    *string
	Disabled *bool
	Password *string
	Language *string
}

// CreateUser makes an account. Only the admin and the system (the command
// line) may. Returns EUNAUTHORIZED, EFORBIDDEN, EINVALID (per field) or
// ECONFLICT (the e-mail has an account).
func (s *Service) CreateUser(ctx context.Context, actor Actor, in NewUser) (*User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	in.Email = normalizeEmail(in.Email)
	if in.Language == "" {
		in.Language = "en"
	}
	u := &User{Email: in.Email, Role: in.Role, Country: in.Country, City: in.City, Field: in.Field, Language: in.Language}
	f := checkAccount(u)
	if !validEmail(in.Email) {
		f["email"] = "must be an e-mail address"
	}
	if msg := checkPassword(in.Password); msg != "" {
		f["password"] = msg
	}
	if len(f) > 0 {
		return nil, FieldErrors(EINVALID, "The account cannot be made.", f)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.PasswordCost)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	u.ID, u.PasswordHash, u.CreatedAt, u.UpdatedAt = newID(now), string(hash), now, now
	err = s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.UserByEmail(u.Email); err == nil {
			return Errorf(ECONFLICT, "An account with this e-mail exists already.")
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		return tx.PutUser(u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser changes an account's role, country, city, language, password or
// whether it is disabled (admin only). Disabling it or setting its password
// ends its sessions. Returns EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND or EINVALID.
func (s *Service) UpdateUser(ctx context.Context, actor Actor, id string, ch UserChange) (*User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, Errorf(ENOTFOUND, "No such account.")
	}
	var hash []byte
	if ch.Password != nil {
		if msg := checkPassword(*ch.Password); msg != "" {
			return nil, FieldErrors(EINVALID, "The account cannot be changed.", map[string]string{"password": msg})
		}
		var err error
		if hash, err = bcrypt.GenerateFromPassword([]byte(*ch.Password), s.PasswordCost); err != nil {
			return nil, err
		}
	}
	var out *User
	err := s.store.Update(ctx, func(tx Tx) error {
		u, err := tx.User(id)
		if err != nil {
			return err
		}
		next := *u
		set(&next.Role, ch.Role)
		set(&next.Country, ch.Country)
		set(&next.City, ch.City)
		set(&next.Field, ch.Field)
		set(&next.Disabled, ch.Disabled)
		set(&next.Language, ch.Language)
		if f := checkAccount(&next); len(f) > 0 {
			return FieldErrors(EINVALID, "The account cannot be changed.", f)
		}
		if hash != nil {
			next.PasswordHash = string(hash)
		}
		next.UpdatedAt = s.clock.Now()
		// A password reset, a disabled account or a change of role ends its
		// sessions: whoever held them must sign in again as what it now is.
		if hash != nil || next.Disabled || next.Role != u.Role || next.Country != u.Country || next.City != u.City {
			if err := tx.DeleteSessionsOf(id); err != nil {
				return err
			}
		}
		out = &next
		return tx.PutUser(&next)
	})
	return out, err
}

// ChangePassword sets the actor's own password, given the current one, and
// ends every session of the account. Returns EUNAUTHORIZED (wrong current
// password) or EINVALID.
func (s *Service) ChangePassword(ctx context.Context, actor Actor, current, next string) error {
	if err := requireSignedIn(actor); err != nil {
		return err
	}
	if msg := checkPassword(next); msg != "" {
		return FieldErrors(EINVALID, "The password cannot be changed.", map[string]string{"new_password": msg})
	}
	var u *User
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		u, err = tx.User(actor.UserID)
		return err
	})
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		return FieldErrors(EUNAUTHORIZED, "The current password is wrong.", map[string]string{"current_password": "is wrong"})
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), s.PasswordCost)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.User(actor.UserID)
		if err != nil {
			return err
		}
		cur.PasswordHash, cur.UpdatedAt = string(hash), s.clock.Now()
		if err := tx.DeleteSessionsOf(cur.ID); err != nil {
			return err
		}
		return tx.PutUser(cur)
	})
}

// Users lists every account. Returns EUNAUTHORIZED or EFORBIDDEN (not admin).
func (s *Service) Users(ctx context.Context, actor Actor) ([]*User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var users []*User
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		users, err = tx.Users()
		return err
	})
	return users, err
}

// UserByEmail returns an account (admin and system only). Returns
// EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) UserByEmail(ctx context.Context, actor Actor, email string) (*User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var u *User
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		u, err = tx.UserByEmail(normalizeEmail(email))
		return err
	})
	return u, err
}

// checkAccount returns what is wrong with an account's role and the place
// it is bound to.
func checkAccount(u *User) map[string]string {
	f := map[string]string{}
	country := "must be an ISO 3166-1 alpha-2 code such as FR"
	switch u.Role {
	case RoleApplicant:
		if !ValidText(u.City, 1, maxNameChars) {
			f["city"] = "is required for an applicant"
		}
		if !ValidCountry(u.Country) {
			f["country"] = country
		}
	case RoleCommission:
		if !ValidCountry(u.Country) {
			f["country"] = country
		}
		if u.City != "" {
			f["city"] = "is only for applicants and evaluators"
		}
	case RoleEvaluator:
		// An evaluator's country is what keeps it from its own country's
		// dossiers; a member city consulted also names its city.
		if !ValidCountry(u.Country) {
			f["country"] = country
		}
		if u.City != "" && !ValidText(u.City, 1, maxNameChars) {
			f["city"] = "must be a city name"
		}
		if u.Field != "" && !ValidText(u.Field, 1, maxNameChars) {
			f["field"] = "must be a creative field's name"
		}
		if u.Field != "" && u.City == "" {
			f["city"] = "is required with a field: only a member city is consulted in its field"
		}
	case RoleSecretariat, RoleAdmin:
		if u.City != "" || u.Country != "" {
			f["country"] = "is only for applicants, commissions and evaluators"
		}
	default:
		f["role"] = "must be applicant, commission, evaluator, secretariat or admin"
	}
	if u.Field != "" && u.Role != RoleEvaluator {
		f["field"] = "is only for member-city evaluators"
	}
	if u.Language != "en" && u.Language != "fr" {
		f["language"] = "must be en or fr"
	}
	return f
}

func checkPassword(p string) string {
	if len(p) < MinPasswordLength || len(p) > 72 {
		return "must be 10 to 72 characters"
	}
	return ""
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func requireAdmin(a Actor) error {
	if err := requireSignedIn(a); err != nil {
		return err
	}
	if a.Role != RoleAdmin && a.Role != RoleSystem {
		return Errorf(EFORBIDDEN, "Only the admin can manage accounts.")
	}
	return nil
}

func normalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }
