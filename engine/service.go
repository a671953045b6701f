package engine

import (
	"context"
	"sync"
	"time"
)

// Service is the engine's API: every use case, with its access checks and
// rules, over a Store. Its methods return *Error refusals with the codes
// their doc comments name, and wrap anything else as internal.
type Service struct {
	store Store
	clock Clock

	// Files keeps the content of attachments.
	Files Files
	// Backups writes the hot backups; nil on a server that cannot take one.
	Backups Backuper

	// SessionTTL is how long a sign-in lasts at the most.
	SessionTTL time.Duration
	// SessionIdle ends a session unused for this long.
	SessionIdle time.Duration
	// PasswordCost is the bcrypt cost; tests lower it to stay fast.
	PasswordCost int
	// SweepChunk is how many dossiers one transaction moves when a deadline
	// acts on many (drafts lapsing at the close), so that other requests wait
	// for one chunk at the most, never for the whole sweep.
	SweepChunk int
	// OutboxParallel is how many messages the outbox delivers at once (0:
	// DefaultOutboxParallel); one keeps them strictly in order.
	OutboxParallel int

	dummyOnce sync.Once
	dummy     []byte
	throttle  throttle
	audit     auditLog
	// outboxWake tells the outbox worker a message may be due.
	outboxWake chan struct{}
}

// NewService returns the engine over store, telling time by clock.
func NewService(store Store, clock Clock) *Service {
	return &Service{
		store:        store,
		clock:        clock,
		SessionTTL:   12 * time.Hour,
		SessionIdle:  2 * time.Hour,
		PasswordCost: 10,
		SweepChunk:   200,
		audit:        auditLog{queue: make(chan auditItem, 4096)},
		outboxWake:   make(chan struct{}, 1),
	}
}

// Now is the engine's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// Healthy reports whether the store answers.
func (s *Service) Healthy(ctx context.Context) error {
	return s.store.View(ctx, func(ReadTx) error { return nil })
}
