package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"designate/engine"
)

// The outbox at the engine's level, with a Mailer that records every copy
// and fails when told to: which moves write which messages, in the move's
// own transaction; how delivery expands a message to addresses, records
// each, retries with back-off and gives up; the release of the results;
// the admin's retry; and who may see or touch any of it.

// obCopy is one copy the fake mailer was handed.
type obCopy struct {
	Message  string // the outbox message's id
	Event    string
	To       engine.Party
	Email    string
	Language string
}

// obMailer records the copies it sends; fail, when set, refuses a copy
// (nothing recorded) by returning an error.
type obMailer struct {
	mu    sync.Mutex
	sent  []obCopy
	tries int
	fail  func(m *engine.Message, to engine.Recipient) error
}

func (f *obMailer) Send(_ context.Context, m *engine.Message, call *engine.Call, to engine.Recipient) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if call == nil || call.ID != m.Call {
		return fmt.Errorf("message %s handed with call %v", m.ID, call)
	}
	if f.fail != nil {
		if err := f.fail(m, to); err != nil {
			return err
		}
	}
	f.sent = append(f.sent, obCopy{Message: m.ID, Event: m.Event, To: m.To, Email: to.Email, Language: to.Language})
	return nil
}

func (f *obMailer) copies() []obCopy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

func (f *obMailer) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries
}

func (f *obMailer) setFail(fail func(m *engine.Message, to engine.Recipient) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

// obDeliver runs one delivery pass and returns how many messages it finished.
func obDeliver(tb testing.TB, e *Env, mailer engine.Mailer) int {
	tb.Helper()
	n, err := e.Service.DeliverDue(context.Background(), mailer, nil)
	if err != nil {
		tb.Fatalf("deliver at %s: %v", e.Clock.Now(), err)
	}
	return n
}

// obAll is every message of the outbox, by id, as the system reads it.
func obAll(tb testing.TB, e *Env) map[string]*engine.Message {
	tb.Helper()
	list, err := e.Service.Outbox(context.Background(), engine.System, "", engine.MaxPageSize)
	if err != nil {
		tb.Fatal(err)
	}
	if len(list) == engine.MaxPageSize {
		tb.Fatal("the test's outbox is too big to read in one page")
	}
	out := map[string]*engine.Message{}
	for _, m := range list {
		out[m.ID] = m
	}
	return out
}

// obOne is the one message of the dossier for the event and party.
func obOne(tb testing.TB, e *Env, app, event string, to engine.Party) *engine.Message {
	tb.Helper()
	var found *engine.Message
	for _, m := range obAll(tb, e) {
		if m.Application == app && m.Event == event && m.To == to {
			if found != nil {
				tb.Fatalf("two %s messages to the %s of %s: %s and %s", event, to, app, found.ID, m.ID)
			}
			found = m
		}
	}
	if found == nil {
		tb.Fatalf("no %s message to the %s of %s", event, to, app)
	}
	return found
}

// obNew is what is in after and not in before.
func obNew(before, after map[string]*engine.Message) []*engine.Message {
	var out []*engine.Message
	for id, m := range after {
		if before[id] == nil {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *engine.Message) int { return strings.Compare(string(a.To), string(b.To)) })
	return out
}

// obRow is the lifecycle's row for the event from the state.
func obRow(tb testing.TB, event string, from engine.State) engine.Transition {
	tb.Helper()
	for _, t := range engine.Lifecycle {
		if t.Event == event && slices.Contains(t.From, from) {
			return t
		}
	}
	tb.Fatalf("no lifecycle row for %s from %s", event, from)
	return engine.Transition{}
}

// obLastEvent is the dossier's last history event, as stored.
func obLastEvent(tb testing.TB, e *Env, app string) engine.HistoryEvent {
	tb.Helper()
	var h []engine.HistoryEvent
	err := e.DB.View(context.Background(), func(tx engine.ReadTx) error {
		var err error
		h, err = tx.History(app)
		return err
	})
	if err != nil || len(h) == 0 {
		tb.Fatalf("history of %s: %v (%d events)", app, err, len(h))
	}
	return h[len(h)-1]
}

// obMoved checks that the dossier's last move wrote exactly the messages
// its lifecycle row says, and returns the outbox after it.
func obMoved(tb testing.TB, e *Env, before map[string]*engine.Message, app *engine.Application) map[string]*engine.Message {
	tb.Helper()
	after := obAll(tb, e)
	obCheck(tb, e, obNew(before, after), app)
	return after
}

// obCheck checks that got are the messages of the dossier's last move:
// one per party its lifecycle row notifies, held when it is a result, each
// carrying the move's history event, reason and time.
func obCheck(tb testing.TB, e *Env, got []*engine.Message, app *engine.Application) {
	tb.Helper()
	ev := obLastEvent(tb, e, app.ID)
	row := obRow(tb, ev.Event, ev.From)
	var parties []engine.Party
	for _, m := range got {
		parties = append(parties, m.To)
	}
	want := slices.Clone(row.Notify)
	slices.Sort(want)
	if !slices.Equal(parties, want) {
		tb.Fatalf("%s of %s wrote messages to %v, want %v", ev.Event, app.City, parties, want)
	}
	for _, m := range got {
		state := engine.MessagePending
		if row.Embargoed {
			state = engine.MessageHeld
		}
		if m.Event != ev.Event || m.Application != app.ID || m.Call != app.Call || m.City != app.City || m.Country != app.Country ||
			m.Field != app.Field || m.Note != ev.Note || m.Seq != ev.Seq || m.State != state || !m.CreatedAt.Equal(ev.At) ||
			!m.NextAttempt.Equal(ev.At) || m.Attempts != 0 || len(m.Sent) != 0 || m.SentAt != nil || m.LastError != "" {
			tb.Errorf("%s of %s wrote %+v; want it %s, about history event %d %+v", ev.Event, app.City, *m, state, ev.Seq, ev)
		}
	}
}

// TestOutbox_EveryMoveWritesItsLifecycleRowsMessages takes dossiers
// through every move of the lifecycle and checks, after each, that the
// outbox gained exactly one message per party the row notifies (none for
// the moves that notify nobody), the results held, each carrying the move's
// history event, reason and time.
func TestOutbox_EveryMoveWritesItsLifecycleRowsMessages(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	before := obAll(t, e)
	if len(before) != 0 {
		t.Fatalf("a new database has %d messages", len(before))
	}
	apps := map[string]*engine.Application{}
	move := func(city, event, note string) {
		t.Helper()
		app := apps[city]
		by := map[string]By{
			engine.EventSubmit: AsCity, engine.EventRetract: AsCity, engine.EventWithdraw: AsCity,
			engine.EventEndorse: AsCommission, engine.EventDecline: AsCommission,
		}[event]
		if by == nil {
			by = AsSecretariat
		}
		apps[city] = e.MustMove(t, by(t, e, app), app.ID, event, note)
		before = obMoved(t, e, before, apps[city])
	}
	for _, c := range []struct{ city, country, field string }{
		{"Lyon", "FR", Film}, {"Dijon", "FR", Gastronomy}, {"Porto", "PT", Music}, {"Braga", "PT", Film},
		{"Évora", "PT", Gastronomy}, {"Annecy", "FR", Music}, {"Tours", "FR", Music}, {"Nice", "FR", Film},
	} {
		apps[c.city] = e.MustDraft(t, call.ID, e.City(t, c.city, c.country), c.field)
	}
	move("Lyon", engine.EventSubmit, "")
	move("Lyon", engine.EventEndorse, "A strong plan.")
	move("Dijon", engine.EventSubmit, "")
	move("Dijon", engine.EventEndorse, "")
	move("Porto", engine.EventSubmit, "")
	move("Porto", engine.EventDecline, "The plan does not involve the city's creative sector.")
	move("Braga", engine.EventSubmit, "")
	move("Braga", engine.EventRetract, "")
	move("Braga", engine.EventSubmit, "")
	move("Braga", engine.EventEndorse, "")
	move("Évora", engine.EventSubmit, "")
	move("Évora", engine.EventEndorse, "")
	move("Annecy", engine.EventWithdraw, "")
	move("Tours", engine.EventSubmit, "")
	// The draft and the unendorsed dossier lapse by themselves: no e-mail.
	AfterClose(t, e, call)
	PastEndorsementUnswept(t, e, call)
	e.MustAdvance(t)
	if n := len(obNew(before, obAll(t, e))); n != 0 {
		t.Fatalf("the deadlines wrote %d messages, want none", n)
	}
	for _, city := range []string{"Tours", "Nice"} {
		if app := e.MustGet(t, apps[city].ID); app.State != engine.Lapsed {
			t.Fatalf("%s is %s, want lapsed", city, app.State)
		}
	}
	move("Lyon", engine.EventAccept, "")
	move("Dijon", engine.EventAccept, "")
	move("Braga", engine.EventReject, "The support letters are missing.")
	move("Évora", engine.EventAccept, "")
	move("Lyon", engine.EventStartEval, "")
	move("Dijon", engine.EventStartEval, "")
	move("Évora", engine.EventStartEval, "")
	move("Lyon", engine.EventRecommend, "")
	move("Dijon", engine.EventNotRecommend, "")
	move("Évora", engine.EventWithdraw, "")

	// The announcement designates by itself; the results wait in the outbox.
	AtAnnouncementUnswept(t, e, call)
	e.MustAdvance(t)
	after := obAll(t, e)
	results := obNew(before, after)
	if len(results) != 2 {
		t.Fatalf("the announcement wrote %d messages, want Lyon's and Dijon's results", len(results))
	}
	for _, city := range []string{"Lyon", "Dijon"} {
		var mine []*engine.Message
		for _, m := range results {
			if m.Application == apps[city].ID {
				mine = append(mine, m)
			}
		}
		obCheck(t, e, mine, e.MustGet(t, apps[city].ID))
	}
	// Every message, by event: the receipt and the endorsement request of
	// each of 7 submissions (Braga's twice), one per decision.
	count := map[string]int{}
	for _, m := range after {
		count[m.Event+"/"+string(m.To)]++
	}
	want := map[string]int{"submit/city": 7, "submit/commission": 7, "endorse/city": 4, "decline/city": 1,
		"accept/city": 3, "reject/city": 1, "designate/city": 1, "not_designate/city": 1}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("messages by event %v, want %v", count, want)
	}
}

// TestOutbox_RefusedMoveWritesNoMessage: a move the engine refuses, for
// whatever reason, leaves the outbox as it was, in the same transaction.
func TestOutbox_RefusedMoveWritesNoMessage(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	lyon := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Film, engine.Endorsed)
	dijon := e.MustReach(t, call, e.City(t, "Dijon", "FR"), Gastronomy, engine.Endorsed)
	annecy := e.MustReach(t, call, e.City(t, "Annecy", "FR"), Music, engine.Submitted)
	nantes := e.City(t, "Nantes", "FR")
	incomplete, err := e.Service.CreateApplication(context.Background(), nantes, engine.NewApplication{
		Call: call.ID, City: "Nantes", Country: "FR", Field: Music, Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	before := obAll(t, e)
	for _, c := range []struct {
		name  string
		actor engine.Actor
		app   *engine.Application
		event string
		note  string
		code  string
	}{
		{"a third endorsement, over the quota", AsCommission(t, e, annecy), annecy, engine.EventEndorse, "", engine.EQUOTAEXCEEDED},
		{"the submission of an incomplete draft", nantes, incomplete, engine.EventSubmit, "", engine.EINCOMPLETE},
		{"a decline without a reason", AsCommission(t, e, annecy), annecy, engine.EventDecline, "", engine.EINVALID},
		{"a decline by another country", AsOtherCommission(t, e, annecy), annecy, engine.EventDecline, "No.", engine.ENOTFOUND},
		{"an acceptance before the close", e.Secretariat(t), lyon, engine.EventAccept, "", engine.EINVALIDTRANSITION},
		{"an endorsement by the city itself", AsCity(t, e, dijon), dijon, engine.EventEndorse, "", engine.EFORBIDDEN},
	} {
		_, err := e.Service.Transition(context.Background(), c.actor, c.app.ID, engine.Move{Event: c.event, Note: c.note})
		if engine.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
		if got := obNew(before, obAll(t, e)); len(got) != 0 {
			t.Errorf("%s, refused, wrote %d messages: %+v", c.name, len(got), *got[0])
		}
		e.AssertUnchanged(t, c.app)
	}
}

// obCity is a city with two applicant accounts (one reading French, one
// disabled), a dossier whose main contact has an address of its own and the
// dossier's language, and its country's two commission accounts; another
// country's commission, which must get nothing.
type obCity struct {
	App                       *engine.Application
	City                      engine.Actor
	Accounts, Commission      []string
	Contact, Disabled, Abroad string
}

func obSetUp(t *testing.T, e *Env, call *engine.Call) *obCity {
	t.Helper()
	ctx := context.Background()
	mk := func(email string, role engine.Role, country, city, lang string) *engine.User {
		u, err := e.Service.CreateUser(ctx, engine.System, engine.NewUser{Email: email, Password: Password, Role: role, Country: country, City: city, Language: lang})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	c := &obCity{Contact: "Culture.Office@Lyon.example.org", Disabled: "former@lyon.example.org", Abroad: "commission@pt.example.org"}
	a := mk("b-mairie@lyon.example.org", engine.RoleApplicant, "FR", "Lyon", "fr")
	mk("a-culture@lyon.example.org", engine.RoleApplicant, "FR", "Lyon", "en")
	old := mk(c.Disabled, engine.RoleApplicant, "FR", "Lyon", "en")
	mk("other@lyon-ca.example.org", engine.RoleApplicant, "CA", "Lyon", "en") // a Lyon elsewhere
	mk("commission-2@fr.example.org", engine.RoleCommission, "FR", "", "fr")
	mk("commission-1@fr.example.org", engine.RoleCommission, "FR", "", "en")
	mk(c.Abroad, engine.RoleCommission, "PT", "", "en")
	disabled := true
	if _, err := e.Service.UpdateUser(ctx, engine.System, old.ID, engine.UserChange{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	c.City = engine.ActorOf(a)
	c.Accounts = []string{"a-culture@lyon.example.org", "b-mairie@lyon.example.org"}
	c.Commission = []string{"commission-1@fr.example.org", "commission-2@fr.example.org"}
	app, err := e.Service.CreateApplication(ctx, c.City, engine.NewApplication{Call: call.ID, City: "Lyon", Country: "FR", Field: Film, Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	edit := CompleteDraft(app.Version)
	edit.Contacts.Main.Email = c.Contact
	c.App = e.MustSaveAs(t, c.City, app.ID, edit)
	return c
}

// TestOutbox_DeliverDueSendsEachAddressOnce: a message goes to every
// address of its party, once, each in its reader's language (an account's
// own; the contact the dossier's); each sent address is recorded, and the
// message is sent; another pass sends nothing.
func TestOutbox_DeliverDueSendsEachAddressOnce(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	c := obSetUp(t, e, call)
	mailer := &obMailer{}
	if n := obDeliver(t, e, mailer); n != 0 || mailer.attempts() != 0 {
		t.Fatalf("an empty outbox delivered %d messages, %d copies", n, mailer.attempts())
	}
	e.Clock.Add(time.Minute)
	c.App = e.MustMove(t, c.City, c.App.ID, engine.EventSubmit, "")
	receipt := obOne(t, e, c.App.ID, engine.EventSubmit, engine.PartyCity)
	request := obOne(t, e, c.App.ID, engine.EventSubmit, engine.PartyCommission)

	e.Clock.Add(time.Second)
	if n := obDeliver(t, e, mailer); n != 2 {
		t.Fatalf("delivered %d messages, want 2", n)
	}
	want := []obCopy{
		{receipt.ID, "submit", engine.PartyCity, "a-culture@lyon.example.org", "en"},
		{receipt.ID, "submit", engine.PartyCity, "b-mairie@lyon.example.org", "fr"},
		{receipt.ID, "submit", engine.PartyCity, c.Contact, "fr"},
		{request.ID, "submit", engine.PartyCommission, "commission-1@fr.example.org", "en"},
		{request.ID, "submit", engine.PartyCommission, "commission-2@fr.example.org", "fr"},
	}
	got := mailer.copies()
	key := func(x obCopy) string { return x.Message + " " + x.Email }
	slices.SortFunc(got, func(a, b obCopy) int { return strings.Compare(key(a), key(b)) })
	slices.SortFunc(want, func(a, b obCopy) int { return strings.Compare(key(a), key(b)) })
	if !slices.Equal(got, want) {
		t.Fatalf("copies:\n%v\nwant\n%v", got, want)
	}
	for _, m := range []*engine.Message{receipt, request} {
		now := obAll(t, e)[m.ID]
		var addrs []string
		for _, w := range want {
			if w.Message == m.ID {
				addrs = append(addrs, strings.ToLower(w.Email))
			}
		}
		sent := slices.Sorted(slices.Values(now.Sent))
		slices.Sort(addrs)
		if now.State != engine.MessageSent || now.Attempts != 1 || now.SentAt == nil || !now.SentAt.Equal(e.Clock.Now()) ||
			!slices.Equal(sent, addrs) || now.LastError != "" {
			t.Errorf("message %s after delivery: %+v; want sent once to %v", m.ID, *now, addrs)
		}
	}
	// Nothing is due any more, now or later.
	e.Clock.Add(24 * time.Hour)
	if n := obDeliver(t, e, mailer); n != 0 || len(mailer.copies()) != len(want) {
		t.Fatalf("a second pass delivered %d messages, %d copies in all", n, len(mailer.copies()))
	}
	if list, err := e.Service.Outbox(context.Background(), e.Secretariat(t), engine.MessageSent, 0); err != nil || len(list) != 2 {
		t.Fatalf("sent list %d (%v), want 2", len(list), err)
	}
	for _, st := range []string{engine.MessagePending, engine.MessageHeld, engine.MessageFailed} {
		if list, err := e.Service.Outbox(context.Background(), e.Secretariat(t), st, 0); err != nil || len(list) != 0 {
			t.Fatalf("%s list %d (%v), want none", st, len(list), err)
		}
	}
}

var errOB451 = errors.New("451 4.3.0 Try again later")

// TestOutbox_PartialFailureResendsOnlyTheRest: when one address fails, the
// copies already sent are recorded and never sent again, after the back-off
// and across a restart, and the rest follow.
func TestOutbox_PartialFailureResendsOnlyTheRest(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	c := obSetUp(t, e, call)
	c.App = e.MustMove(t, c.City, c.App.ID, engine.EventSubmit, "")
	receipt := obOne(t, e, c.App.ID, engine.EventSubmit, engine.PartyCity)
	mailer := &obMailer{}
	mailer.setFail(func(m *engine.Message, to engine.Recipient) error {
		if to.Email == "b-mairie@lyon.example.org" {
			return errOB451
		}
		return nil
	})
	start := e.Clock.Now()
	if n := obDeliver(t, e, mailer); n != 1 {
		t.Fatalf("delivered %d messages, want the commission's only", n)
	}
	m := obAll(t, e)[receipt.ID]
	if m.State != engine.MessagePending || m.Attempts != 1 || !slices.Equal(m.Sent, []string{"a-culture@lyon.example.org"}) ||
		m.LastError != errOB451.Error() || !m.NextAttempt.Equal(start.Add(30*time.Second)) || m.SentAt != nil {
		t.Fatalf("after a partial delivery: %+v", *m)
	}

	// A restart keeps what was sent; the server accepts again.
	e.Reopen(t)
	mailer.setFail(nil)
	e.Clock.Add(29 * time.Second)
	if n := obDeliver(t, e, mailer); n != 0 {
		t.Fatalf("delivered %d messages before the back-off passed", n)
	}
	e.Clock.Add(time.Second)
	if n := obDeliver(t, e, mailer); n != 1 {
		t.Fatalf("delivered %d messages after the back-off, want 1", n)
	}
	var toCity []string
	for _, x := range mailer.copies() {
		if x.Message == receipt.ID {
			toCity = append(toCity, x.Email)
		}
	}
	if want := []string{"a-culture@lyon.example.org", "b-mairie@lyon.example.org", c.Contact}; !slices.Equal(toCity, want) {
		t.Fatalf("the receipt went to %v, want each of %v once", toCity, want)
	}
	m = obAll(t, e)[receipt.ID]
	if m.State != engine.MessageSent || m.Attempts != 2 || len(m.Sent) != 3 || m.LastError != "" {
		t.Fatalf("after the retry: %+v", *m)
	}
}

// TestOutbox_BackoffThenFailedThenRetry: a copy that keeps failing is tried
// after 30 s, then after twice as long each time, never before, and after
// MaxAttempts the message is failed with the last error; the admin's retry
// puts it back, due at once, for MaxAttempts more.
func TestOutbox_BackoffThenFailedThenRetry(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	lyon := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Film, engine.Endorsed)
	// Everything so far is delivered; the acceptance's e-mail will fail.
	mailer := &obMailer{}
	obDeliver(t, e, mailer)
	AfterClose(t, e, call)
	lyon = e.MustMove(t, e.Secretariat(t), lyon.ID, engine.EventAccept, "")
	accepted := obOne(t, e, lyon.ID, engine.EventAccept, engine.PartyCity)
	attempt := 0
	mailer.setFail(func(m *engine.Message, to engine.Recipient) error {
		attempt++
		return fmt.Errorf("451 attempt %d refused", attempt)
	})
	wantWaits := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute}
	if len(wantWaits) != engine.MaxAttempts-1 {
		t.Fatalf("MaxAttempts is %d; the test knows the waits of 8", engine.MaxAttempts)
	}
	for i := 1; i <= engine.MaxAttempts; i++ {
		tried := mailer.attempts()
		n := obDeliver(t, e, mailer)
		m := obAll(t, e)[accepted.ID]
		if mailer.attempts() != tried+1 {
			t.Fatalf("attempt %d tried %d copies, want 1 (the first fails)", i, mailer.attempts()-tried)
		}
		if m.Attempts != i || m.LastError != fmt.Sprintf("451 attempt %d refused", i) || len(m.Sent) != 0 {
			t.Fatalf("after attempt %d: %+v", i, *m)
		}
		if i == engine.MaxAttempts {
			if n != 1 || m.State != engine.MessageFailed {
				t.Fatalf("after the last attempt: %d finished, %+v; want it failed", n, *m)
			}
			break
		}
		if n != 0 || m.State != engine.MessagePending || !m.NextAttempt.Equal(e.Clock.Now().Add(wantWaits[i-1])) {
			t.Fatalf("after attempt %d: %d finished, due %s, want pending %v later (%+v)", i, n, m.NextAttempt, wantWaits[i-1], *m)
		}
		// A second before it is due, nothing is tried.
		e.Clock.Set(m.NextAttempt.Add(-time.Second))
		if obDeliver(t, e, mailer); mailer.attempts() != tried+1 {
			t.Fatalf("tried again %v before the back-off ended", time.Second)
		}
		e.Clock.Set(m.NextAttempt)
	}
	// Failed is final until someone retries it.
	e.Clock.Add(24 * time.Hour)
	tried := mailer.attempts()
	if obDeliver(t, e, mailer); mailer.attempts() != tried {
		t.Fatal("a failed message was tried again by itself")
	}
	failed, err := e.Service.Outbox(context.Background(), e.Secretariat(t), engine.MessageFailed, 0)
	if err != nil || len(failed) != 1 || failed[0].ID != accepted.ID || !strings.Contains(failed[0].LastError, "attempt 8") {
		t.Fatalf("failed list %+v (%v), want the acceptance with the last error", failed, err)
	}
	retried, err := e.Service.RetryMessage(context.Background(), e.Admin(t), accepted.ID)
	if err != nil {
		t.Fatal(err)
	}
	if retried.State != engine.MessagePending || retried.Attempts != 0 || !retried.NextAttempt.Equal(e.Clock.Now()) {
		t.Fatalf("retried: %+v, want pending, 0 attempts, due now", *retried)
	}
	if _, err := e.Service.RetryMessage(context.Background(), e.Admin(t), accepted.ID); engine.ErrorCode(err) != engine.EINVALIDTRANSITION {
		t.Fatalf("retry of a pending message: %v, want %s", err, engine.EINVALIDTRANSITION)
	}
	mailer.setFail(nil)
	if n := obDeliver(t, e, mailer); n != 1 {
		t.Fatalf("delivered %d after the retry, want 1", n)
	}
	var copies []string
	for _, x := range mailer.copies() {
		if x.Message == accepted.ID {
			copies = append(copies, x.Email)
		}
	}
	if m := obAll(t, e)[accepted.ID]; m.State != engine.MessageSent || m.Attempts != 1 || len(copies) != 2 {
		t.Fatalf("after the retry: %+v, copies %v; want sent to the city's account and contact", *m, copies)
	}
}

// TestOutbox_ResultsHeldUntilReleased: the results are written held at the
// announcement, whoever designates; delivery never sends them; the release
// is refused before the call is announced and releases nothing; after it,
// it releases every held result of the call (not another call's), once.
func TestOutbox_ResultsHeldUntilReleased(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	other := e.MustCreateCall(t, NewCall("other-2027", e.Clock.Now()))
	secretariat := e.Secretariat(t)
	ctx := context.Background()
	var lyon, dijon, porto *engine.Application
	lyon = e.MustReach(t, call, e.City(t, "Lyon", "FR"), Film, engine.Endorsed)
	dijon = e.MustReach(t, call, e.City(t, "Dijon", "FR"), Gastronomy, engine.Endorsed)
	porto = e.MustReach(t, other, e.City(t, "Porto", "PT"), Music, engine.Endorsed)
	AfterClose(t, e, call)
	lyon = e.MustMoveOn(t, call, lyon, engine.Recommended)
	dijon = e.MustMoveOn(t, call, dijon, engine.NotRecommended)
	porto = e.MustMoveOn(t, other, porto, engine.Recommended)
	mailer := &obMailer{}
	obDeliver(t, e, mailer)
	sentBefore := len(mailer.copies())

	if _, err := e.Service.ReleaseResults(ctx, secretariat, call.ID); engine.ErrorCode(err) != engine.EINVALIDTRANSITION {
		t.Fatalf("release before the announcement: %v, want %s", err, engine.EINVALIDTRANSITION)
	}
	// At the announcement, before the scheduler announced the call, the
	// secretariat designates Lyon itself: held, and still not releasable.
	AtAnnouncementUnswept(t, e, call)
	lyon = e.MustMove(t, secretariat, lyon.ID, engine.EventDesignate, "")
	held := obOne(t, e, lyon.ID, engine.EventDesignate, engine.PartyCity)
	if held.State != engine.MessageHeld {
		t.Fatalf("Lyon's result is %s, want held", held.State)
	}
	if n, err := e.Service.ReleaseResults(ctx, secretariat, call.ID); engine.ErrorCode(err) != engine.EINVALIDTRANSITION || n != 0 {
		t.Fatalf("release before the call is announced: %d, %v; want 0, %s", n, err, engine.EINVALIDTRANSITION)
	}
	// The scheduler announces both calls and designates the rest.
	AtAnnouncementUnswept(t, e, other)
	e.MustAdvance(t)
	obOne(t, e, dijon.ID, engine.EventNotDesignate, engine.PartyCity)
	obOne(t, e, porto.ID, engine.EventDesignate, engine.PartyCity)
	e.Clock.Add(time.Hour)
	if obDeliver(t, e, mailer); len(mailer.copies()) != sentBefore {
		t.Fatalf("held results were delivered: %v", mailer.copies()[sentBefore:])
	}
	heldList, err := e.Service.Outbox(ctx, secretariat, engine.MessageHeld, 0)
	if err != nil || len(heldList) != 3 {
		t.Fatalf("held %d (%v), want Lyon's, Dijon's and Porto's results", len(heldList), err)
	}
	// Released: this call's two, due now; then none.
	n, err := e.Service.ReleaseResults(ctx, secretariat, call.ID)
	if err != nil || n != 2 {
		t.Fatalf("release: %d, %v; want 2", n, err)
	}
	for _, m := range []*engine.Message{held, obOne(t, e, dijon.ID, engine.EventNotDesignate, engine.PartyCity)} {
		if m = obAll(t, e)[m.ID]; m.State != engine.MessagePending || !m.NextAttempt.Equal(e.Clock.Now()) {
			t.Errorf("released %s: %+v, want pending now", m.ID, *m)
		}
	}
	if n, err := e.Service.ReleaseResults(ctx, e.Admin(t), call.ID); err != nil || n != 0 {
		t.Fatalf("second release: %d, %v; want 0", n, err)
	}
	obDeliver(t, e, mailer)
	var events []string
	for _, x := range mailer.copies()[sentBefore:] {
		events = append(events, x.Event+" "+x.Message)
	}
	if len(events) != 4 { // two copies each: the city's account and its contact
		t.Fatalf("after the release sent %v, want the two results to two addresses each", events)
	}
	if m := obOne(t, e, porto.ID, engine.EventDesignate, engine.PartyCity); m.State != engine.MessageHeld {
		t.Fatalf("the other call's result is %s, want still held", m.State)
	}
}

// TestOutbox_StaffOnly: the outbox, the retry and the release are the
// secretariat's and the admin's; the public must sign in; an unknown
// message or call is not found; a message that is not failed is not
// retried.
func TestOutbox_StaffOnly(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	lyon := e.MustReach(t, call, e.City(t, "Lyon", "FR"), Film, engine.Submitted)
	receipt := obOne(t, e, lyon.ID, engine.EventSubmit, engine.PartyCity)
	ctx := context.Background()
	others := map[string]engine.Actor{
		"the city":       AsCity(t, e, lyon),
		"the commission": AsCommission(t, e, lyon),
		"an evaluator":   engine.ActorOf(e.MustUser(t, engine.RoleEvaluator, "PT", "")),
	}
	others[""] = engine.Actor{} // the public
	for name, a := range others {
		want := engine.EFORBIDDEN
		if name == "" {
			name, want = "the public", engine.EUNAUTHORIZED
		}
		_, err := e.Service.Outbox(ctx, a, "", 0)
		_, err2 := e.Service.RetryMessage(ctx, a, receipt.ID)
		_, err3 := e.Service.ReleaseResults(ctx, a, call.ID)
		for i, err := range []error{err, err2, err3} {
			if engine.ErrorCode(err) != want {
				t.Errorf("%s: call %d answers %v, want %s", name, i+1, err, want)
			}
		}
	}

	for _, staff := range []engine.Actor{e.Secretariat(t), e.Admin(t)} {
		list, err := e.Service.Outbox(ctx, staff, engine.MessagePending, 0)
		if err != nil || len(list) != 2 {
			t.Fatalf("%s reads %d pending messages (%v), want the receipt and the request", staff.Role, len(list), err)
		}
		_, err = e.Service.Outbox(ctx, staff, "lost", 0)
		AssertCode(t, err, engine.EINVALID)
		AssertCode(t, err, engine.EINVALID)
		AssertFields(t, err, "state")
		for _, id := range []string{"../outbox", "", lyon.ID, strings.Repeat("0", engine.IDLen)} {
			_, err = e.Service.RetryMessage(ctx, staff, id)
			AssertCode(t, err, engine.ENOTFOUND)
		}
		_, err = e.Service.RetryMessage(ctx, staff, receipt.ID)
		AssertCode(t, err, engine.EINVALIDTRANSITION)
		for _, id := range []string{"no-such-call", "../x"} {
			_, err = e.Service.ReleaseResults(ctx, staff, id)
			AssertCode(t, err, engine.ENOTFOUND)
		}
	}
	// Neither a refused retry nor a refused release changed the receipt.
	if m := obAll(t, e)[receipt.ID]; m.State != engine.MessagePending || m.Attempts != 0 {
		t.Fatalf("the receipt after refusals: %+v", *m)
	}
}

// A delivery pass stops taking messages when its context ends, and a
// stopped pass loses nothing: the next one sends the rest, none twice.
// One at a time it stops right after the message in flight; with several
// at once, after those in flight.
func TestOutbox_DeliverStopsWithItsContext(t *testing.T) {
	for _, parallel := range []int{1, 0} {
		t.Run(fmt.Sprintf("Parallel%d", parallel), func(t *testing.T) {
			e := MustOpenService(t)
			e.Service.OutboxParallel = parallel
			call := e.MustOpenCall(t)
			for _, c := range []struct{ city, field string }{{"Lyon", Film}, {"Dijon", Gastronomy}, {"Annecy", Music}} {
				e.MustReach(t, call, e.City(t, c.city, "FR"), c.field, engine.Submitted)
			}
			ctx, cancel := context.WithCancel(context.Background())
			mailer := &obMailer{}
			mailer.setFail(func(*engine.Message, engine.Recipient) error {
				cancel() // the server stops during the first copy, which still goes
				return nil
			})
			n, err := e.Service.DeliverDue(ctx, mailer, nil)
			if !errors.Is(err, context.Canceled) || n < 1 || n >= 6 || (parallel == 1 && n != 1) {
				t.Fatalf("a stopped pass: %d finished, %v; want the cancellation after the message(s) in flight (1 one at a time)", n, err)
			}
			mailer.setFail(nil)
			if m := obDeliver(t, e, mailer); m != 6-n {
				t.Fatalf("the next pass finished %d, want the other %d", m, 6-n)
			}
			seen := map[string]bool{}
			for _, x := range mailer.copies() {
				if k := x.Message + " " + x.Email; seen[k] {
					t.Errorf("copy %s sent twice", k)
				} else {
					seen[k] = true
				}
			}
		})
	}
}
