package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Advance makes every move whose instant has passed, for every call: the
// call's own moves in order, each with its sweeps, and any chunked sweep a
// restart interrupted. It is idempotent: running it twice changes nothing
// the first run did not. The scheduler calls it; so may tests, after moving
// the clock.
func (s *Service) Advance(ctx context.Context) error {
	calls, err := s.Calls(ctx)
	if err != nil {
		return err
	}
	for _, c := range calls {
		if err := s.advanceCall(ctx, c.ID); err != nil {
			return err
		}
	}
	return nil
}

// advanceCall makes the due moves of one call.
func (s *Service) advanceCall(ctx context.Context, callID string) error {
	for {
		call, err := s.Call(ctx, callID)
		if err != nil {
			return err
		}
		t := dueMove(call, s.clock.Now())
		if t == nil {
			return s.finishSweeps(ctx, call)
		}
		if err := s.moveCall(ctx, System, callID, t); err != nil {
			return err
		}
	}
}

// dueMove returns the call's time-driven move whose instant has passed, if any.
func dueMove(call *Call, now time.Time) *CallTransition {
	for i := range CallLifecycle {
		t := &CallLifecycle[i]
		if t.From == call.State && t.Due(call, now) {
			return t
		}
	}
	return nil
}

// finishSweeps runs, chunk by chunk, the non-atomic sweeps of every move the
// call has made. Each chunk is its own transaction, so other requests wait
// for one chunk at the most; a sweep cut by a crash resumes here.
func (s *Service) finishSweeps(ctx context.Context, call *Call) error {
	order := callStateOrder(call.State)
	chunk := s.SweepChunk
	if chunk < 1 {
		chunk = 200
	}
	for _, t := range CallLifecycle {
		if t.Atomic || callStateOrder(t.To) > order {
			continue
		}
		for _, sw := range t.Sweeps {
			// Most passes find nothing to do; a read finds that out without
			// a write transaction and its sync.
			var pending []*Summary
			err := s.store.View(ctx, func(tx ReadTx) (err error) {
				pending, _, err = tx.Applications(Query{Call: call.ID, State: sw.From, Limit: 1})
				return err
			})
			if err != nil || len(pending) == 0 {
				if err != nil {
					return err
				}
				continue
			}
			for {
				moved := 0
				err := s.store.Update(ctx, func(tx Tx) error {
					c, err := tx.Call(call.ID)
					if err != nil {
						return err
					}
					moved, err = s.sweep(ctx, tx, c, System, sw, chunk)
					return err
				})
				if err != nil {
					return fmt.Errorf("sweep call %s (%s %s): %w", call.ID, sw.From, sw.Event, err)
				}
				if moved < chunk {
					break
				}
			}
		}
	}
	return nil
}

// Scheduler runs Advance whenever an instant may have passed, so deadlines
// act by themselves.
type Scheduler struct {
	Service *Service
	Clock   Clock
	// Every is the longest wait between two passes; it bounds how late a
	// move happens after its instant.
	Every  time.Duration
	Logger *slog.Logger
	// Passes, when not nil, receives after each pass, for tests that move
	// the clock and wait for the scheduler's verdict.
	Passes chan<- error
}

// Run advances once at start (acting on every instant that passed while the
// server was down) and then on every tick until ctx ends.
func (sc *Scheduler) Run(ctx context.Context) {
	every := sc.Every
	if every <= 0 {
		every = time.Second
	}
	for {
		err := sc.Service.Advance(ctx)
		if err != nil && ctx.Err() == nil && sc.Logger != nil {
			sc.Logger.Error("scheduler pass failed", "err", err)
		}
		if sc.Passes != nil {
			select {
			case sc.Passes <- err:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-sc.Clock.After(every):
		}
	}
}
