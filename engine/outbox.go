package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// The outbox: every e-mail a move causes is written in the move's own
// transaction, so a committed move always has its message and a refused one
// never does. A worker delivers them afterwards, retrying with back-off;
// each recipient's copy has a stable Message-ID, so a copy sent again after
// a crash between the SMTP server's acceptance and the record of it is one
// a mail system recognises as the same message.

// Message states.
const (
	MessagePending = "pending" // waiting for (another) attempt
	MessageHeld    = "held"    // a result, waiting for the secretariat to release it
	MessageSent    = "sent"
	MessageFailed  = "failed" // gave up after MaxAttempts; the admin may retry
)

// Message is one e-mail about one move, to one party (the city, or the
// country's commission), expanded to addresses when it is delivered.
type Message struct {
	ID          string    `json:"id"`
	Event       string    `json:"event"`
	To          Party     `json:"to"`
	Application string    `json:"application"`
	Call        string    `json:"call"`
	City        string    `json:"city"`
	Country     string    `json:"country"`
	Field       string    `json:"field"`
	Note        string    `json:"note,omitempty"`
	Seq         int       `json:"seq"` // the history event's number, for the Message-ID
	State       string    `json:"state"`
	CreatedAt   time.Time `json:"created_at"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
	// Sent lists the addresses that have their copy, so a retry after a
	// partial delivery sends only the rest.
	Sent   []string   `json:"sent"`
	SentAt *time.Time `json:"sent_at,omitempty"`
}

// Recipient is one address a message goes to, in its reader's language.
type Recipient struct {
	Email    string
	Language string
}

// MessageID is the stable Message-ID of the copy for one address.
// One move may write a message to each of two parties, and one address may
// belong to both (a contact who is also a commission account): the party is
// part of the id, so two different e-mails never share one.
func (m *Message) MessageID(email string, domain string) string {
	return fmt.Sprintf("<%s.%d.%s.%s@%s>", m.Application, m.Seq, m.To, hashToken(strings.ToLower(email))[:12], domain)
}

// Mailer delivers one copy of a message. An error is retried later.
type Mailer interface {
	Send(ctx context.Context, m *Message, call *Call, to Recipient) error
}

// notify writes the messages the move causes, in the move's transaction.
func (s *Service) notify(tx Tx, call *Call, app *Application, ev *HistoryEvent) error {
	t := transitionFor(ev.Event, ev.From)
	if t == nil || len(t.Notify) == 0 {
		return nil
	}
	for _, p := range t.Notify {
		m := &Message{ID: newID(ev.At), Event: ev.Event, To: p, Application: app.ID, Call: call.ID,
			City: app.City, Country: app.Country, Field: app.Field, Note: ev.Note, Seq: ev.Seq,
			State: MessagePending, CreatedAt: ev.At, NextAttempt: ev.At, Sent: []string{}}
		if t.Embargoed {
			m.State = MessageHeld
		}
		if err := tx.PutMessage(m); err != nil {
			return err
		}
	}
	return nil
}

// MaxAttempts is how many times a message is tried before it is failed.
const MaxAttempts = 8

// backoff is the wait before attempt n+1: 30 s, doubling, at most an hour.
func backoff(n int) time.Duration {
	d := 30 * time.Second << min(n, 7)
	return min(d, time.Hour)
}

// recipients expands the message's party to addresses: the dossier's main
// contact and the city's accounts, or the country's commission accounts,
// each in its own language (a contact reads the dossier's). The accounts
// come from the store's index by role and place, by e-mail, so an e-mail
// costs what its own recipients cost, however many accounts there are.
func recipients(tx ReadTx, m *Message) ([]Recipient, error) {
	var out []Recipient
	seen := map[string]bool{}
	add := func(email, lang string) {
		key := strings.ToLower(email)
		if email == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, Recipient{Email: email, Language: lang})
	}
	addAccounts := func(role Role, country, city string) error {
		users, err := tx.UsersWith(role, country, city)
		for _, u := range users {
			if !u.Disabled {
				add(u.Email, u.Language)
			}
		}
		return err
	}
	switch m.To {
	case PartyCity:
		app, err := tx.Application(m.Application)
		if err != nil {
			return nil, err
		}
		// A city's accounts are those of its name in its country: without
		// a name, UsersWith would give the whole country's.
		if app.City != "" {
			if err := addAccounts(RoleApplicant, app.Country, app.City); err != nil {
				return nil, err
			}
		}
		add(app.Contacts.Main.Email, app.Language)
	case PartyCommission:
		if err := addAccounts(RoleCommission, m.Country, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeliverDue tries every message whose time has come, once each, and
// returns how many it finished (sent or failed). The worker calls it in a
// loop; tests call it after moving the clock.
func (s *Service) DeliverDue(ctx context.Context, mailer Mailer, log *slog.Logger) (int, error) {
	done := 0
	for {
		n, full, err := s.deliverBatch(ctx, mailer, log)
		done += n
		if err != nil || !full {
			return done, err
		}
	}
}

// deliverBatch is one batch of DeliverDue; full says more may be due.
func (s *Service) deliverBatch(ctx context.Context, mailer Mailer, log *slog.Logger) (int, bool, error) {
	const batch = 100
	var due []*Message
	now := s.clock.Now()
	err := s.store.View(ctx, func(tx ReadTx) error {
		var err error
		due, err = tx.PendingMessages(now, batch)
		return err
	})
	if err != nil {
		return 0, false, err
	}
	// Messages are delivered several at once: each waits on its SMTP
	// server and on the commits that record its copies, and the commits of
	// concurrent deliveries share their syncs (the store's group commit).
	// One at a time, the outbox wrote about 275 messages a second while a
	// submission storm queued 1,600. A dossier's messages still go one
	// after the other, oldest first, so a city never reads "endorsed"
	// before "received"; and the copies of one message go in order, each
	// recorded before the next.
	var (
		mu    sync.Mutex
		done  int
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, s.outboxParallel())
	)
	for _, run := range byDossier(due) {
		mu.Lock()
		stop := len(errs) > 0
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			for _, m := range run {
				if ctx.Err() != nil {
					return
				}
				finished, err := s.deliver(ctx, mailer, m)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("deliver message %s: %w", m.ID, err))
				case finished:
					done++
				case log != nil:
					log.Warn("e-mail not delivered; will retry", "message", m.ID, "event", m.Event, "attempt", m.Attempts+1)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return done, false, errors.Join(errs...)
	}
	if err := ctx.Err(); err != nil {
		return done, false, err
	}
	// A message tried now is either finished or due later, so a full
	// batch means others may be waiting, never the same ones again.
	return done, len(due) == batch, nil
}

// byDossier splits due messages (oldest first) into runs, one per dossier,
// each in the order it was due, the runs in the order of their first
// message.
func byDossier(due []*Message) [][]*Message {
	var runs [][]*Message
	at := map[string]int{}
	for _, m := range due {
		i, ok := at[m.Application]
		if !ok {
			i = len(runs)
			at[m.Application] = i
			runs = append(runs, nil)
		}
		runs[i] = append(runs[i], m)
	}
	return runs
}

// DefaultOutboxParallel is how many messages the outbox delivers at once
// when Service.OutboxParallel is 0.
const DefaultOutboxParallel = 16

func (s *Service) outboxParallel() int {
	if s.OutboxParallel > 0 {
		return s.OutboxParallel
	}
	return DefaultOutboxParallel
}

// deliver sends each copy not yet sent, recording each as it goes, so a
// crash resends at most the copy in flight.
func (s *Service) deliver(ctx context.Context, mailer Mailer, m *Message) (bool, error) {
	var rcpts []Recipient
	var call *Call
	err := s.store.View(ctx, func(tx ReadTx) error {
		var err error
		if call, err = tx.Call(m.Call); err != nil {
			return err
		}
		rcpts, err = recipients(tx, m)
		return err
	})
	if err != nil {
		return false, err
	}
	// A copy the SMTP server has taken must be recorded even when the
	// server is stopping, or the restart would send it again: the send and
	// its record finish on a context that stopping does not cancel (the
	// mailer bounds the send with its own timeout).
	ctx = SystemWrite(context.WithoutCancel(ctx))
	var todo []Recipient
	for _, r := range rcpts {
		if !contains(m.Sent, strings.ToLower(r.Email)) {
			todo = append(todo, r)
		}
	}
	var sendErr error
	var last string // the last copy sent, recorded with the message's end
	for i, r := range todo {
		if sendErr = mailer.Send(ctx, m, call, r); sendErr != nil {
			break
		}
		addr := strings.ToLower(r.Email)
		if i == len(todo)-1 {
			// The last copy is recorded in the write that ends the
			// message: one write fewer, and still no copy is sent before
			// the one before it is recorded.
			last = addr
			break
		}
		if err := s.updateMessage(ctx, m.ID, func(cur *Message) { cur.Sent = append(cur.Sent, addr) }); err != nil {
			return false, err
		}
		m.Sent = append(m.Sent, addr)
	}
	now := s.clock.Now()
	finished := false
	err = s.updateMessage(ctx, m.ID, func(cur *Message) {
		if last != "" {
			cur.Sent = append(cur.Sent, last)
		}
		cur.Attempts++
		switch {
		case sendErr == nil:
			cur.State, cur.SentAt, cur.LastError = MessageSent, &now, ""
			finished = true
		case cur.Attempts >= MaxAttempts:
			cur.State, cur.LastError = MessageFailed, sendErr.Error()
			finished = true
		default:
			cur.LastError, cur.NextAttempt = sendErr.Error(), now.Add(backoff(cur.Attempts-1))
		}
	})
	return finished, err
}

func (s *Service) updateMessage(ctx context.Context, id string, change func(*Message)) error {
	return s.store.Update(ctx, func(tx Tx) error {
		m, err := tx.Message(id)
		if err != nil {
			return err
		}
		next := *m
		next.Sent = append([]string(nil), m.Sent...)
		change(&next)
		return tx.PutMessage(&next)
	})
}

// Outbox lists messages in a state (all when state is ""), newest first,
// for the admin and the secretariat. Returns EUNAUTHORIZED or EFORBIDDEN.
func (s *Service) Outbox(ctx context.Context, actor Actor, state string, limit int) ([]*Message, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if state != "" && !contains([]string{MessagePending, MessageHeld, MessageSent, MessageFailed}, state) {
		return nil, FieldErrors(EINVALID, "Unknown state.", map[string]string{"state": "must be pending, held, sent or failed"})
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = DefaultPageSize
	}
	var out []*Message
	err := s.store.View(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.Messages(state, limit)
		return err
	})
	return out, err
}

// RetryMessage puts a failed message back in the queue, due now. Returns
// EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND or EINVALIDTRANSITION (not failed).
func (s *Service) RetryMessage(ctx context.Context, actor Actor, id string) (*Message, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, Errorf(ENOTFOUND, "No such message.")
	}
	var out *Message
	err := s.store.Update(ctx, func(tx Tx) error {
		m, err := tx.Message(id)
		if err != nil {
			return err
		}
		if m.State != MessageFailed {
			return Errorf(EINVALIDTRANSITION, "Only a failed message is retried; this one is %s.", m.State)
		}
		next := *m
		next.State, next.Attempts, next.NextAttempt = MessagePending, 0, s.clock.Now()
		out = &next
		return tx.PutMessage(&next)
	})
	if err == nil {
		s.wakeOutbox()
	}
	return out, err
}

// ReleaseResults lets the call's result e-mails go, never before the
// announcement: until then they wait in the outbox. Returns EUNAUTHORIZED,
// EFORBIDDEN, ENOTFOUND or EINVALIDTRANSITION (before the announcement),
// and how many messages it released (0 the second time).
func (s *Service) ReleaseResults(ctx context.Context, actor Actor, callID string) (int, error) {
	if err := requireStaff(actor); err != nil {
		return 0, err
	}
	if !ValidSlug(callID) {
		return 0, Errorf(ENOTFOUND, "No such call.")
	}
	n := 0
	err := s.store.Update(ctx, func(tx Tx) error {
		n = 0
		call, err := tx.Call(callID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if now.Before(call.AnnouncementAt) || (call.State != CallAnnounced && call.State != CallArchived) {
			return Errorf(EINVALIDTRANSITION, "The results are embargoed until the announcement (%s).", formatInstant(call.AnnouncementAt, call))
		}
		held, err := tx.HeldMessages(callID)
		if err != nil {
			return err
		}
		for _, m := range held {
			next := *m
			next.State, next.NextAttempt = MessagePending, now
			if err := tx.PutMessage(&next); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err == nil {
		s.wakeOutbox()
	}
	return n, err
}

// RunOutbox delivers due messages until ctx ends: at once when woken (a
// move committed) and at least every interval.
func (s *Service) RunOutbox(ctx context.Context, mailer Mailer, every time.Duration, log *slog.Logger) {
	for {
		if _, err := s.DeliverDue(ctx, mailer, log); err != nil && ctx.Err() == nil && log != nil {
			log.Error("outbox pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(every):
		case <-s.outboxWake:
		}
	}
}

// wakeOutbox tells the worker a message may be due, without waiting.
func (s *Service) wakeOutbox() {
	select {
	case s.outboxWake <- struct{}{}:
	default:
	}
}
