package engine_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"designate/engine"
)

// TestOutboxCounts_FollowTheMessagesStates: a submission's two messages
// are counted pending and due, one that failed is pending but not due
// until its retry, and the sent ones sent; only the staff may ask.
func TestOutboxCounts_FollowTheMessagesStates(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	c := obSetUp(t, e, call)
	ctx := context.Background()
	counts := func() map[string]int {
		t.Helper()
		got, err := e.Service.OutboxCounts(ctx, e.Secretariat(t))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := counts(), map[string]int{"pending": 0, "due": 0, "held": 0, "sent": 0, "failed": 0}; !maps.Equal(got, want) {
		t.Fatalf("counts of an empty outbox %v, want %v", got, want)
	}
	c.App = e.MustMove(t, c.City, c.App.ID, engine.EventSubmit, "")
	if got, want := counts(), map[string]int{"pending": 2, "due": 2, "held": 0, "sent": 0, "failed": 0}; !maps.Equal(got, want) {
		t.Fatalf("counts after a submission %v, want %v", got, want)
	}
	mailer := &obMailer{}
	mailer.setFail(func(m *engine.Message, _ engine.Recipient) error {
		if m.To == engine.PartyCommission {
			return errOB451
		}
		return nil
	})
	obDeliver(t, e, mailer)
	if got, want := counts(), map[string]int{"pending": 1, "due": 0, "held": 0, "sent": 1, "failed": 0}; !maps.Equal(got, want) {
		t.Fatalf("counts after a failure %v, want %v", got, want)
	}
	e.Clock.Add(time.Minute)
	if got := counts(); got["pending"] != 1 || got["due"] != 1 {
		t.Fatalf("counts once the retry is due %v, want 1 pending and due", got)
	}
	mailer.setFail(nil)
	obDeliver(t, e, mailer)
	if got, want := counts(), map[string]int{"pending": 0, "due": 0, "held": 0, "sent": 2, "failed": 0}; !maps.Equal(got, want) {
		t.Fatalf("counts after delivery %v, want %v", got, want)
	}
	_, err := e.Service.OutboxCounts(ctx, c.City)
	AssertCode(t, err, engine.EFORBIDDEN)
	_, err = e.Service.OutboxCounts(ctx, engine.Actor{})
	AssertCode(t, err, engine.EUNAUTHORIZED)
}
