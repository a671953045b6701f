package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
}

// CreateUser makes an account. Only the admin and the system (the command
// line) may. Returns EUNAUTHORIZED, EFORBIDDEN, EINVALID (per field) or
// ECONFLICT (the e-mail has an account).
func (s *Service) CreateUser(ctx context.Context, actor Actor, in NewUser) (*User, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleAdmin && actor.Role != RoleSystem {
		return nil, Errorf(EFORBIDDEN, "Only the admin can make accounts.")
	}
	in.Email = normalizeEmail(in.Email)
	f := map[string]string{}
	if !validEmail(in.Email) {
		f["email"] = "must be an e-mail address"
	}
	if len(in.Password) < MinPasswordLength || len(in.Password) > 72 {
		f["password"] = "must be 10 to 72 characters"
	}
	switch in.Role {
	case RoleApplicant:
		if !validText(in.City, 1, maxNameChars) {
			f["city"] = "is required for an applicant"
		}
		if !ValidCountry(in.Country) {
			f["country"] = "must be an ISO 3166-1 alpha-2 code such as FR"
		}
	case RoleCommission:
		if !ValidCountry(in.Country) {
			f["country"] = "must be an ISO 3166-1 alpha-2 code such as FR"
		}
		if in.City != "" {
			f["city"] = "is only for applicants"
		}
	case RoleSecretariat, RoleAdmin:
		if in.City != "" || in.Country != "" {
			f["country"] = "is only for applicants and commissions"
		}
	default:
		f["role"] = "must be applicant, commission, secretariat or admin"
	}
	if len(f) > 0 {
		return nil, FieldErrors(EINVALID, "The account cannot be made.", f)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.PasswordCost)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	u := &User{ID: newID(now), Email: in.Email, Role: in.Role, Country: in.Country, City: in.City,
		PasswordHash: string(hash), CreatedAt: now}
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

// dummyHash is compared against when the e-mail has no account, so an
// unknown e-mail costs the same time as a wrong password. It is made at the
// service's cost, on first use.
func (s *Service) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte("no account has this password"), s.PasswordCost)
	})
	return s.dummy
}

// Login checks an e-mail and password and opens a session. It returns the
// bearer token, which is stored only as a hash. Returns EUNAUTHORIZED, with
// the same message whether the e-mail or the password was wrong.
func (s *Service) Login(ctx context.Context, email, password string) (string, *User, error) {
	refused := Errorf(EUNAUTHORIZED, "Wrong e-mail or password.")
	var u *User
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		u, err = tx.UserByEmail(normalizeEmail(email))
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return "", nil, refused
	} else if err != nil {
		return "", nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return "", nil, refused
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.clock.Now()
	sess := &Session{TokenHash: hashToken(token), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.SessionTTL)}
	if err := s.store.Update(ctx, func(tx Tx) error { return tx.PutSession(sess) }); err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// Authenticate returns the actor a bearer token signs in. Returns
// EUNAUTHORIZED for an unknown or expired token.
func (s *Service) Authenticate(ctx context.Context, token string) (Actor, error) {
	refused := Errorf(EUNAUTHORIZED, "Your session has ended: please sign in again.")
	if len(token) != 43 {
		return Actor{}, refused
	}
	var u *User
	err := s.store.View(ctx, func(tx ReadTx) error {
		sess, err := tx.Session(hashToken(token))
		if err != nil {
			return err
		}
		if !s.clock.Now().Before(sess.ExpiresAt) {
			return refused
		}
		u, err = tx.User(sess.UserID)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		return Actor{}, refused
	} else if err != nil {
		return Actor{}, err
	}
	return ActorOf(u), nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(hashToken(token)) })
}

// Users lists every account. Returns EUNAUTHORIZED or EFORBIDDEN (not admin).
func (s *Service) Users(ctx context.Context, actor Actor) ([]*User, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleAdmin && actor.Role != RoleSystem {
		return nil, Errorf(EFORBIDDEN, "Only the admin can list accounts.")
	}
	var users []*User
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		users, err = tx.Users()
		return err
	})
	return users, err
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func normalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }
