package engine

import (
	"context"
	"sync"
	"time"
)

// DemoClock is the wall clock shifted forward on demand, so that someone
// trying the demo can walk a call from opening to announcement in minutes:
// "jump to the close" instead of waiting six weeks. It only ever moves
// forward, since a deadline that has acted must stay passed. It exists only
// when the configuration asks for it (never in production).
type DemoClock struct {
	mu     sync.Mutex
	base   Clock
	offset time.Duration
	// Save, when not nil, keeps the offset across restarts; a jump is
	// refused if it cannot be kept, so a restart never turns time back.
	Save func(offset time.Duration) error
}

// NewDemoClock returns base shifted by offset.
func NewDemoClock(base Clock, offset time.Duration) *DemoClock {
	return &DemoClock{base: base, offset: offset}
}

// Now is the shifted time.
func (c *DemoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Now().Add(c.offset)
}

// After waits on the base clock: the scheduler ticks on real time, and a
// jump runs its pass at once.
func (c *DemoClock) After(d time.Duration) <-chan time.Time { return c.base.After(d) }

// Offset is how far ahead of the wall clock this clock is.
func (c *DemoClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

func (c *DemoClock) jumpTo(to time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.base.Now()
	offset := to.Sub(now)
	// Sub saturates at about 292 years: such a jump would land elsewhere.
	if !now.Add(offset).Equal(to) {
		return FieldErrors(EINVALID, "The demo clock cannot go that far.", map[string]string{"to": "must be within 200 years of now"})
	}
	if offset <= c.offset {
		return FieldErrors(EINVALID, "The demo clock only moves forward.", map[string]string{"to": "must be later than the clock's time"})
	}
	if c.Save != nil {
		if err := c.Save(offset); err != nil {
			return err
		}
	}
	c.offset = offset
	return nil
}

// TimeTravelEnabled reports whether this server runs on a demo clock.
func (s *Service) TimeTravelEnabled() bool {
	_, ok := s.clock.(*DemoClock)
	return ok
}

// TimeTravel moves a demo clock forward to the instant and acts at once on
// every deadline it passed, as the scheduler would have. For the staff, on
// a demo server only. Returns EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND (no demo
// clock) or EINVALID (not forward).
func (s *Service) TimeTravel(ctx context.Context, actor Actor, to time.Time) error {
	if err := requireStaff(actor); err != nil {
		return err
	}
	dc, ok := s.clock.(*DemoClock)
	if !ok {
		return Errorf(ENOTFOUND, "This server runs on the real clock: time travel is for the demo only.")
	}
	if err := dc.jumpTo(to); err != nil {
		return err
	}
	s.Record(AuditEvent{Actor: actor.Email, Role: actor.Role, Action: AuditTimeTravel})
	return s.Advance(ctx)
}

// sessionNow is the time sessions and the sign-in throttle live by: the
// wall clock even on a demo clock, so a jump of six weeks does not sign
// out the person who made it.
func (s *Service) sessionNow() time.Time {
	if dc, ok := s.clock.(*DemoClock); ok {
		return dc.base.Now()
	}
	return s.clock.Now()
}
