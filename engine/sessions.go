package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// dummyHash is compared against when the e-mail has no account, so an
// unknown e-mail costs the same time as a wrong password. It is made at the
// service's cost, on first use.
func (s *Service) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte("no account has this password"), s.PasswordCost)
	})
	return s.dummy
}

// Login checks an e-mail and password, from a client address, and opens a
// session. It returns the bearer token, which is stored only as a hash.
// Returns EUNAUTHORIZED, with the same message and the same cost whether the
// e-mail, the password or the account's state was wrong, or ETHROTTLED after
// repeated failures for the e-mail or the address.
func (s *Service) Login(ctx context.Context, email, password, address string) (string, *User, error) {
	email = normalizeEmail(email)
	now := s.sessionNow()
	emailKey, addrKey := "e:"+email, "a:"+address
	if wait := max(s.throttle.wait(emailKey, now), s.throttle.wait(addrKey, now)); wait > 0 {
		err := Errorf(ETHROTTLED, "Too many failed sign-ins: try again in %s.", wait.Round(time.Second))
		err.RetryAfter = wait
		s.Record(AuditEvent{Actor: email, Action: AuditLoginFailed, Code: ETHROTTLED, Address: address})
		return "", nil, err
	}
	refused := func() (string, *User, error) {
		s.throttle.fail(emailKey, now, freeFailures)
		// An address may be shared by a whole city hall: it gets more room.
		s.throttle.fail(addrKey, now, 4*freeFailures)
		s.Record(AuditEvent{Actor: email, Action: AuditLoginFailed, Code: EUNAUTHORIZED, Address: address})
		return "", nil, Refusal(EUNAUTHORIZED, T("wrong_password"))
	}
	var u *User
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		u, err = tx.UserByEmail(email)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return refused()
	} else if err != nil {
		return "", nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		return refused()
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	sess := &Session{TokenHash: hashToken(token), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.SessionTTL), LastSeen: now}
	if err := s.store.Update(ctx, func(tx Tx) error { return tx.PutSession(sess) }); err != nil {
		return "", nil, err
	}
	s.throttle.succeed(emailKey)
	s.Record(AuditEvent{Actor: u.Email, Role: u.Role, Action: AuditLogin, Address: address})
	return token, u, nil
}

// Authenticate returns the actor a token signs in. A session ends at its
// expiry, after SessionIdle without use, or when its account is disabled.
// Returns EUNAUTHORIZED for a token that signs nobody in.
func (s *Service) Authenticate(ctx context.Context, token string) (Actor, error) {
	refused := Errorf(EUNAUTHORIZED, "Your session has ended: please sign in again.")
	if len(token) != 43 {
		return Actor{}, refused
	}
	now := s.sessionNow()
	hash := hashToken(token)
	var u *User
	var sess *Session
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		if sess, err = tx.Session(hash); err != nil {
			return err
		}
		u, err = tx.User(sess.UserID)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		return Actor{}, refused
	} else if err != nil {
		return Actor{}, err
	}
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) > s.SessionIdle || u.Disabled {
		return Actor{}, refused
	}
	// Mark the session used, at most once a minute: enough for the idle
	// timeout, without a write on every request.
	if now.Sub(sess.LastSeen) > time.Minute {
		err := s.store.Update(ctx, func(tx Tx) error {
			cur, err := tx.Session(hash)
			if err != nil {
				return err
			}
			cur.LastSeen = now
			return tx.PutSession(cur)
		})
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return Actor{}, err
		}
	}
	return ActorOf(u), nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, actor Actor, token, address string) error {
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(hashToken(token)) })
	if err == nil {
		s.Record(AuditEvent{Actor: actor.Email, Role: actor.Role, Action: AuditLogout, Address: address})
	}
	return err
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
