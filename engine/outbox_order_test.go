package engine_test

import (
	"context"
	"testing"
	"time"

	"designate/engine"
)

// slowMailer takes longer over some events, as a slow SMTP exchange would.
type slowMailer struct {
	obMailer
	slow string
}

func (f *slowMailer) Send(ctx context.Context, m *engine.Message, call *engine.Call, to engine.Recipient) error {
	if m.Event == f.slow {
		time.Sleep(50 * time.Millisecond)
	}
	return f.obMailer.Send(ctx, m, call, to)
}

// A city's "your dossier was received" (submit) and "endorsed"
// e-mails, both due in one pass, reach each address in that order, even
// when the first takes longer to send: messages go out several at once.
func TestOutbox_OneDossiersMessages_GoInOrder(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	c := obSetUp(t, e, call)
	e.Clock.Add(time.Minute)
	c.App = e.MustMove(t, c.City, c.App.ID, engine.EventSubmit, "")
	e.Clock.Add(time.Second)
	c.App = e.MustMove(t, AsCommission(t, e, c.App), c.App.ID, engine.EventEndorse, "")
	e.Clock.Add(time.Second)
	mailer := &slowMailer{slow: engine.EventSubmit}
	obDeliver(t, e, mailer)
	var order []string
	for _, cp := range mailer.copies() {
		if cp.Email == "a-culture@lyon.example.org" {
			order = append(order, cp.Event)
		}
	}
	if len(order) != 2 || order[0] != engine.EventSubmit {
		t.Fatalf("a-culture@lyon got %v, want submit then endorse", order)
	}
}
