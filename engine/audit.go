package engine

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// AuditEvent is one line of the audit log: a sign-in, a sign-out, a failed
// sign-in, or any refused request.
type AuditEvent struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Role    Role      `json:"role"`
	Action  string    `json:"action"`
	Method  string    `json:"method,omitempty"`
	Path    string    `json:"path,omitempty"`
	Status  int       `json:"status,omitempty"`
	Code    string    `json:"code,omitempty"`
	Address string    `json:"address,omitempty"`
}

// Audit actions.
const (
	AuditLogin       = "login"
	AuditLoginFailed = "login_failed"
	AuditLogout      = "logout"
	AuditRefused     = "refused"
	AuditTimeTravel  = "time_travel"
)

// auditLog queues events for a writer that stores them in batches, so a
// flood of refused requests costs one commit per batch, not one each.
type auditLog struct {
	queue chan auditItem
	// running is set while RunAudit runs; without a writer, Record stores
	// each event itself.
	running atomic.Bool
}

type auditItem struct {
	ev    AuditEvent
	flush chan struct{}
}

// Record queues ev for the audit log. It blocks only when the queue is full,
// so nothing is dropped.
func (s *Service) Record(ev AuditEvent) {
	ev.At = s.clock.Now()
	ev.ID = newID(ev.At)
	if !s.audit.running.Load() {
		_ = s.store.Update(context.Background(), func(tx Tx) error { return tx.AppendAudit([]AuditEvent{ev}) })
		return
	}
	s.audit.queue <- auditItem{ev: ev}
}

// flushAudit waits until everything recorded so far is stored.
func (s *Service) flushAudit(ctx context.Context) {
	if !s.audit.running.Load() {
		return
	}
	done := make(chan struct{})
	select {
	case s.audit.queue <- auditItem{flush: done}:
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// RunAudit stores queued audit events until ctx ends, then stores what is
// left. The server runs it for as long as it serves.
func (s *Service) RunAudit(ctx context.Context, log *slog.Logger) {
	s.audit.running.Store(true)
	defer s.audit.running.Store(false)
	var batch []AuditEvent
	var waiting []chan struct{}
	write := func() {
		if len(batch) > 0 {
			err := s.store.Update(SystemWrite(context.WithoutCancel(ctx)), func(tx Tx) error { return tx.AppendAudit(batch) })
			if err != nil && log != nil {
				log.Error("audit log write failed", "events", len(batch), "err", err)
			}
			batch = batch[:0]
		}
		for _, w := range waiting {
			close(w)
		}
		waiting = waiting[:0]
	}
	for {
		select {
		case item := <-s.audit.queue:
			if item.flush != nil {
				waiting = append(waiting, item.flush)
			} else {
				batch = append(batch, item.ev)
			}
			// Take what else is queued into the same commit.
			for len(batch) < 512 && len(s.audit.queue) > 0 {
				if next := <-s.audit.queue; next.flush != nil {
					waiting = append(waiting, next.flush)
				} else {
					batch = append(batch, next.ev)
				}
			}
			write()
		case <-ctx.Done():
			for len(s.audit.queue) > 0 {
				if next := <-s.audit.queue; next.flush != nil {
					waiting = append(waiting, next.flush)
				} else {
					batch = append(batch, next.ev)
				}
			}
			write()
			return
		}
	}
}

// AuditLog returns a page of the audit log, newest first (admin only).
// Returns EUNAUTHORIZED, EFORBIDDEN or EINVALID (bad cursor or limit).
func (s *Service) AuditLog(ctx context.Context, actor Actor, before string, limit int) ([]AuditEvent, string, error) {
	if err := requireSignedIn(actor); err != nil {
		return nil, "", err
	}
	if actor.Role != RoleAdmin {
		return nil, "", Errorf(EFORBIDDEN, "Only the admin can read the audit log.")
	}
	if before != "" && !ValidID(before) {
		return nil, "", FieldErrors(EINVALID, "Bad cursor.", map[string]string{"cursor": "is not a cursor this server gave"})
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return nil, "", FieldErrors(EINVALID, "Bad limit.", map[string]string{"limit": "must be between 1 and 500"})
	}
	s.flushAudit(ctx)
	var events []AuditEvent
	var next string
	err := s.store.View(ctx, func(tx ReadTx) (err error) {
		events, next, err = tx.Audit(before, limit)
		return err
	})
	return events, next, err
}
