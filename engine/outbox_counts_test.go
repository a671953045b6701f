package engine_test

import (
	"context"
	"maps"
	"testing"

	"designate/engine"
)

// TestOutboxCounts_FollowTheMessagesStates: a submission's two messages
// are counted pending, then sent once delivered; only the staff may ask.
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
	if got, want := counts(), map[string]int{"pending": 0, "held": 0, "sent": 0, "failed": 0}; !maps.Equal(got, want) {
		t.Fatalf("counts of an empty outbox %v, want %v", got, want)
	}
	c.App = e.MustMove(t, c.City, c.App.ID, engine.EventSubmit, "")
	if got, want := counts(), map[string]int{"pending": 2, "held": 0, "sent": 0, "failed": 0}; !maps.Equal(got, want) {
		t.Fatalf("counts after a submission %v, want %v", got, want)
	}
	obDeliver(t, e, &obMailer{})
	if got, want := counts(), map[string]int{"pending": 0, "held": 0, "sent": 2, "failed": 0}; !maps.Equal(got, want) {
		t.Fatalf("counts after delivery %v, want %v", got, want)
	}
	_, err := e.Service.OutboxCounts(ctx, c.City)
	AssertCode(t, err, engine.EFORBIDDEN)
	_, err = e.Service.OutboxCounts(ctx, engine.Actor{})
	AssertCode(t, err, engine.EUNAUTHORIZED)
}
