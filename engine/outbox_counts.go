package engine

import "context"

// MessageStates are the states a message may be in, in the order of its
// life.
var MessageStates = []string{MessagePending, MessageHeld, MessageSent, MessageFailed}

// OutboxDue is the count OutboxCounts gives, beside the states, of the
// pending messages whose time has come: the worker's backlog. The others
// wait for a retry after a failure.
const OutboxDue = "due"

// OutboxCounts returns how many messages are in each state, and how many
// of the pending ones are due (OutboxDue), for the staff and for a load
// test that waits for the outbox to drain: a list page cannot count a
// backlog of thousands. Returns EUNAUTHORIZED or EFORBIDDEN.
func (s *Service) OutboxCounts(ctx context.Context, actor Actor) (map[string]int, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	out := make(map[string]int, len(MessageStates)+1)
	err := s.store.View(ctx, func(tx ReadTx) error {
		for _, st := range MessageStates {
			n, err := tx.MessageCount(st)
			if err != nil {
				return err
			}
			out[st] = n
		}
		n, err := tx.DueMessageCount(s.clock.Now())
		out[OutboxDue] = n
		return err
	})
	return out, err
}
