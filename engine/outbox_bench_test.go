package engine_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"designate/engine"
)

// The outbox's cost per e-mail against the number of accounts. The issue
// measured 19.5 to 24 ms of CPU per submission (two e-mails) with 2,009
// accounts, 79% of it in recipients reading and sorting every account for
// every message. With the account index, an e-mail costs what its own
// recipients cost: the figures at 100 and 10,000 accounts should be the
// same within noise.
//
//	go test ./engine -run X -bench Outbox_PerEmail -benchtime 2000x -count 3
//
// ns/op is the wall time of delivering one message (all its copies, each
// recorded in its own synced write, as DeliverDue does); cpu-ns/email is the
// process's CPU time (user and system, every goroutine: the committer, the
// garbage collector) over the same span, per message, which is what the
// issue measured.

// benchDiscard is a mailer that takes every copy and sends nothing.
type benchDiscard struct{ copies atomic.Int64 }

func (d *benchDiscard) Send(context.Context, *engine.Message, *engine.Call, engine.Recipient) error {
	d.copies.Add(1)
	return nil
}

// benchOutboxEnv is a database with accounts accounts, of which Lyon's (two
// enabled, one disabled) and FR's commission (two) are the ones the
// messages go to; the others are spread over other places and roles. It
// returns the two messages a submission of Lyon's dossier wrote.
func benchOutboxEnv(b *testing.B, accounts int) (*Env, []*engine.Message) {
	b.Helper()
	e := MustOpenService(b)
	call := e.MustOpenCall(b)
	c := obSetUpFor(b, e, call)
	c.App = e.MustMove(b, c.City, c.App.ID, engine.EventSubmit, "")
	submitted := []*engine.Message{
		obOne(b, e, c.App.ID, engine.EventSubmit, engine.PartyCity),
		obOne(b, e, c.App.ID, engine.EventSubmit, engine.PartyCommission),
	}
	ctx := context.Background()
	made := benchCountAccounts(b, e)
	countries := []string{"DE", "PT", "IT", "ES", "BE", "NL", "PL", "SE", "FR"}
	for made < accounts {
		err := e.DB.Update(ctx, func(tx engine.Tx) error {
			for i := made; i < min(made+1000, accounts); i++ {
				country := countries[i%len(countries)]
				u := &engine.User{ID: engine.NewID(Start), Email: fmt.Sprintf("account-%06d@example.org", i), Role: engine.RoleApplicant,
					Country: country, City: fmt.Sprintf("City %d", i/2), Language: "en", PasswordHash: "x", CreatedAt: Start, UpdatedAt: Start}
				switch {
				case i%20 == 0:
					u.Role, u.City = engine.RoleEvaluator, ""
				case i%20 == 1 && country != "FR":
					u.Role, u.City = engine.RoleCommission, ""
				}
				if err := tx.PutUser(u); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		made = min(made+1000, accounts)
	}
	if n := benchCountAccounts(b, e); n != accounts {
		b.Fatalf("%d accounts, want %d", n, accounts)
	}
	// Deliver the submission's own messages, so only the copies the
	// benchmark writes are pending.
	if _, err := e.Service.DeliverDue(ctx, &benchDiscard{}, nil); err != nil {
		b.Fatal(err)
	}
	return e, submitted
}

func benchCountAccounts(b *testing.B, e *Env) int {
	b.Helper()
	var n int
	err := e.DB.View(context.Background(), func(tx engine.ReadTx) error {
		users, err := tx.Users()
		n = len(users)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// obAccounts are the accounts obSetUpFor makes: those the messages go to,
// and a disabled one.
var obAccounts = []string{"b-mairie@lyon.example.org", "a-culture@lyon.example.org", "former@lyon.example.org",
	"commission-2@fr.example.org", "commission-1@fr.example.org"}

// obSetUpFor is Lyon's dossier, its accounts and FR's commission, ready
// to submit, for a benchmark.
func obSetUpFor(b *testing.B, e *Env, call *engine.Call) *obCity {
	b.Helper()
	ctx := context.Background()
	var lyon *engine.User
	for i, email := range obAccounts {
		role, city := engine.RoleApplicant, "Lyon"
		if i >= 3 {
			role, city = engine.RoleCommission, ""
		}
		u, err := e.Service.CreateUser(ctx, engine.System, engine.NewUser{Email: email, Password: Password, Role: role, Country: "FR", City: city, Language: "fr"})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			lyon = u
		}
		if i == 2 {
			disabled := true
			if _, err := e.Service.UpdateUser(ctx, engine.System, u.ID, engine.UserChange{Disabled: &disabled}); err != nil {
				b.Fatal(err)
			}
		}
	}
	c := &obCity{City: engine.ActorOf(lyon)}
	app, err := e.Service.CreateApplication(ctx, c.City, engine.NewApplication{Call: call.ID, City: "Lyon", Country: "FR", Field: Film, Language: "fr"})
	if err != nil {
		b.Fatal(err)
	}
	edit := CompleteDraft(app.Version)
	edit.Contacts.Main.Email = "Culture.Office@Lyon.example.org"
	c.App = e.MustSaveAs(b, c.City, app.ID, edit)
	return c
}

// benchQueue writes n copies of the submission's messages, alternating
// city and commission as submissions do, pending and due now.
func benchQueue(b *testing.B, e *Env, like []*engine.Message, n int) {
	b.Helper()
	now := e.Clock.Now()
	for done := 0; done < n; {
		err := e.DB.Update(context.Background(), func(tx engine.Tx) error {
			for i := done; i < min(done+1000, n); i++ {
				m := *like[i%len(like)]
				m.ID, m.State, m.NextAttempt, m.Attempts, m.Sent, m.SentAt = engine.NewID(now), engine.MessagePending, now, 0, []string{}, nil
				if err := tx.PutMessage(&m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done = min(done+1000, n)
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkOutbox_PerEmail(b *testing.B) {
	for _, accounts := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("accounts=%d", accounts), func(b *testing.B) {
			e, like := benchOutboxEnv(b, accounts)
			mailer := &benchDiscard{}
			ctx := context.Background()
			benchQueue(b, e, like, b.N)
			b.ResetTimer()
			cpu0 := cpuTime(b)
			done, err := e.Service.DeliverDue(ctx, mailer, nil)
			cpu := cpuTime(b) - cpu0
			b.StopTimer()
			if err != nil || done != b.N {
				b.Fatalf("delivered %d of %d messages: %v", done, b.N, err)
			}
			// Lyon's two accounts and its contact, FR's two commission
			// accounts: 3 copies and 2 in turn, however many accounts.
			if got, want := mailer.copies.Load(), int64((b.N+1)/2*3+b.N/2*2); got != want {
				b.Fatalf("%d copies for %d messages, want %d", got, b.N, want)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/email")
			b.ReportMetric(float64(mailer.copies.Load())/float64(b.N), "copies/email")
		})
	}
}
