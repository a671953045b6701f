package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"designate/engine"
)

// The e-mails, end to end: the real program delivers its outbox over SMTP
// to a real SMTP server (emersion/go-smtp) listening in the test, which
// keeps every message with its envelope. The tests wait for the worker by
// polling what the server received: that is waiting for its I/O, with a
// generous bound; time that the engine waits (the back-off) passes on the
// manual clock, never on the wall clock.

// mlDomain ends every Message-ID of these tests.
const mlDomain = "designate.test"

// mlMail is one message the SMTP server accepted, as a mail reader sees it.
type mlMail struct {
	From      string   // the envelope's
	Rcpt      []string // the envelope's
	Raw       []byte
	To        string // the header's
	Subject   string // decoded
	MessageID string
	Language  string // Content-Language
	Body      string // decoded
	Err       error  // what made it unreadable, if anything
	Phase     int    // the server's phase when it was accepted
}

// mlServer is the SMTP server. It may refuse DATA with a 451 (the next
// Refuse ones, or all while RefuseAll), and Hold, when set, is called with
// each DATA command's number before it is answered, so that a test can
// keep a delivery in flight.
type mlServer struct {
	Port int

	mu        sync.Mutex
	mails     []mlMail
	datas     int // DATA commands seen
	refused   int // DATA commands answered 451
	refuse    int
	refuseAll bool
	hold      func(n int)
	phase     int
}

// mlStartServer starts the SMTP server on 127.0.0.1:0; it stops when the
// test ends, after the program (which the test starts later).
func mlStartServer(t *testing.T) *mlServer {
	t.Helper()
	s := &mlServer{}
	srv := smtp.NewServer(s)
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.ErrorLog = mlDiscard{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return s
}

type mlDiscard struct{}

func (mlDiscard) Printf(string, ...any) {}
func (mlDiscard) Println(...any)        {}

func (s *mlServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &mlSession{s: s}, nil }

// set changes the server's behaviour under its lock.
func (s *mlServer) set(f func(s *mlServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// received is what the server accepted so far, and how many DATA commands
// it refused.
func (s *mlServer) received() ([]mlMail, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails), s.refused
}

type mlSession struct {
	s    *mlServer
	from string
	rcpt []string
}

func (ss *mlSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.rcpt = from, nil
	return nil
}

func (ss *mlSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.rcpt = append(ss.rcpt, to)
	return nil
}

func (ss *mlSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	s.datas++
	n, hold := s.datas, s.hold
	s.mu.Unlock()
	if hold != nil {
		hold(n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuseAll || s.refuse > 0 {
		if s.refuse > 0 {
			s.refuse--
		}
		s.refused++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Mailbox busy, try again later"}
	}
	m := mlParse(raw)
	m.From, m.Rcpt, m.Phase = ss.from, slices.Clone(ss.rcpt), s.phase
	s.mails = append(s.mails, m)
	return nil
}

func (ss *mlSession) Reset()        { ss.from, ss.rcpt = "", nil }
func (ss *mlSession) Logout() error { return nil }

// mlParse reads a message as a mail reader does.
func mlParse(raw []byte) mlMail {
	m := mlMail{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.Err = err
		return m
	}
	h := msg.Header
	m.To, m.MessageID, m.Language = h.Get("To"), h.Get("Message-ID"), h.Get("Content-Language")
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil {
		m.Err = fmt.Errorf("subject: %w", err)
		return m
	}
	if ct, params, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || ct != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		m.Err = fmt.Errorf("Content-Type %q: %v", h.Get("Content-Type"), err)
		return m
	}
	if h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		m.Err = fmt.Errorf("Content-Transfer-Encoding %q", h.Get("Content-Transfer-Encoding"))
		return m
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		m.Err = fmt.Errorf("body: %w", err)
		return m
	}
	m.Body = strings.ReplaceAll(string(body), "\r\n", "\n")
	return m
}

// mlWait polls cond every 2 ms until it holds, for at most 60 s: the
// outbox worker is real, and this waits for its I/O, not for a deadline.
// With nudge, when cond has not held for 100 ms the worker may be waiting
// on the engine's clock (it went to sleep just before the test moved the
// clock), and nudge moves the clock on by the worker's longest pause.
func mlWait(t *testing.T, what string, cond func() bool, nudge func()) {
	t.Helper()
	start := time.Now()
	last := start
	for !cond() {
		if time.Since(start) > time.Minute {
			t.Fatalf("still waiting after %v for %s", time.Since(start).Round(time.Millisecond), what)
		}
		if nudge != nil && time.Since(last) > 100*time.Millisecond {
			nudge()
			last = time.Now()
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mlEnv is the program with delivery on, the SMTP server, the catalogs the
// e-mails are written from, and the staff's accounts.
type mlEnv struct {
	t   *testing.T
	tm  *TestMain
	srv *mlServer
	cat map[string]map[string]string

	secretariat, admin string
}

// mlConfig is the test configuration with delivery on, over SMTP to srv:
// no STARTTLS, no credentials, the worker's longest pause a second of the
// engine's clock.
func mlConfig(t *testing.T, srv *mlServer) Config {
	t.Helper()
	cfg := ConfigForTest(t, t.TempDir(), false)
	cfg.Mail.Deliver = true
	cfg.Mail.From = "designate <no-reply@" + mlDomain + ">"
	cfg.Mail.Domain = mlDomain
	cfg.Mail.Every = time.Second
	cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.StartTLS = "127.0.0.1", srv.Port, false
	cfg.Mail.SMTP.Username, cfg.Mail.SMTP.Password = "", ""
	return cfg
}

func mlStart(t *testing.T, deliver bool) *mlEnv {
	t.Helper()
	srv := mlStartServer(t)
	cfg := mlConfig(t, srv)
	cfg.Mail.Deliver = deliver
	tm := MustRunMainConfig(t, cfg, engine.NewManualClock(testStart))
	e := &mlEnv{t: t, tm: tm, srv: srv, cat: map[string]map[string]string{}}
	for _, lang := range []string{"en", "fr"} {
		raw, err := os.ReadFile(filepath.Join(repoRoot(t), "web", "i18n", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		c := map[string]string{}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		e.cat[lang] = c
	}
	e.secretariat = tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	e.admin = tm.MustUser("admin@example.org", engine.RoleAdmin, "", "")
	return e
}

// relogin signs the staff in again after the clock passed their sessions'
// end.
func (e *mlEnv) relogin(cities ...*city) {
	e.t.Helper()
	e.secretariat = e.tm.MustLogin("secretariat@example.org", testPassword)
	e.admin = e.tm.MustLogin("admin@example.org", testPassword)
	for _, c := range cities {
		c.Token = e.tm.MustLogin(c.Email, testPassword)
	}
}

// french makes the account of token read French, as the admin sets it
// through the API.
func (e *mlEnv) french(token string) {
	e.t.Helper()
	var me struct{ ID string }
	e.tm.MustDo(200, "GET", "/api/v1/me", token, nil, &me)
	var u engine.User
	e.tm.MustDo(200, "PATCH", "/api/v1/users/"+me.ID, e.admin, map[string]string{"language": "fr"}, &u)
	if u.Language != "fr" {
		e.t.Fatalf("account %s reads %q after the change, want fr", me.ID, u.Language)
	}
}

// outbox is the outbox in the state ("" for all) as the staff reads it; a
// session the clock ended is opened again.
func (e *mlEnv) outbox(state string) []engine.Message {
	e.t.Helper()
	path := "/api/v1/outbox?limit=500&state=" + state
	r := e.tm.MustSend("GET", path, e.secretariat, nil)
	if r.Status == 401 {
		e.secretariat = e.tm.MustLogin("secretariat@example.org", testPassword)
		r = e.tm.MustSend("GET", path, e.secretariat, nil)
	}
	var l struct{ Items []engine.Message }
	if r.Status != 200 || json.Unmarshal(r.Body, &l) != nil {
		e.t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	if len(l.Items) == 500 {
		e.t.Fatal("the outbox has more messages than one page")
	}
	return l.Items
}

// message is the outbox's message id.
func (e *mlEnv) message(id string) engine.Message {
	e.t.Helper()
	for _, m := range e.outbox("") {
		if m.ID == id {
			return m
		}
	}
	e.t.Fatalf("no message %s in the outbox", id)
	return engine.Message{}
}

// messageOf is the one message of the dossier for the event.
func (e *mlEnv) messageOf(app, event string, to engine.Party) engine.Message {
	e.t.Helper()
	var out []engine.Message
	for _, m := range e.outbox("") {
		if m.Application == app && m.Event == event && m.To == to {
			out = append(out, m)
		}
	}
	if len(out) != 1 {
		e.t.Fatalf("%d %s messages to the %s of %s, want 1", len(out), event, to, app)
	}
	return out[0]
}

// mails is what the server accepted, failing the test on an unreadable
// one.
func (e *mlEnv) mails() []mlMail {
	e.t.Helper()
	got, _ := e.srv.received()
	for _, m := range got {
		if m.Err != nil {
			e.t.Fatalf("the server received a message a mail reader cannot read: %v\n%s", m.Err, m.Raw)
		}
	}
	return got
}

// waitMails waits until the server has accepted n messages in all.
func (e *mlEnv) waitMails(n int, nudge func()) []mlMail {
	e.t.Helper()
	mlWait(e.t, fmt.Sprintf("%d e-mails", n), func() bool { got, _ := e.srv.received(); return len(got) >= n }, nudge)
	return e.mails()
}

// nudgeFor is a nudge for mlWait while the message is due: the worker
// must then be waiting on the engine's clock, and moving the clock on by
// its longest pause wakes it. A message not yet due gets no nudge, so that
// nudges never take the clock past a back-off the test is checking.
func (e *mlEnv) nudgeFor(id string) func() {
	return func() {
		m := e.message(id)
		if m.State == "pending" && !m.NextAttempt.After(e.tm.Clock.Now()) {
			e.tm.Clock.Add(e.tm.Main.Config.Mail.Every)
		}
	}
}

// mlNoMailer fails the test when anything is handed to it.
type mlNoMailer struct{ t *testing.T }

func (n mlNoMailer) Send(_ context.Context, m *engine.Message, _ *engine.Call, to engine.Recipient) error {
	n.t.Errorf("message %s (%s, %s) was due, and sent to %s", m.ID, m.Event, m.State, to.Email)
	return errors.New("not sent")
}

// mlCopy is one e-mail the test expects: to whom, in which language, about
// which move of which dossier.
type mlCopy struct {
	Rcpt, Lang   string
	Event, Party string
	City, Field  string
	App          string
	Seq          int
	Note         string
}

// subject is the copy's subject, from the catalogs, in its reader's
// language.
func (e *mlEnv) subject(c mlCopy) string {
	e.t.Helper()
	format, ok := e.cat[c.Lang]["mail."+c.Event+"."+c.Party+".subject"]
	if !ok {
		e.t.Fatalf("no subject for %s to the %s in %s", c.Event, c.Party, c.Lang)
	}
	field := c.Field
	if f, ok := e.cat[c.Lang]["field."+field]; ok {
		field = f
	}
	return fmt.Sprintf(format, c.City, field)
}

// messageID is the copy's Message-ID as the engine makes it.
func (c mlCopy) messageID() string {
	return (&engine.Message{Application: c.App, Seq: c.Seq, To: engine.Party(c.Party)}).MessageID(c.Rcpt, mlDomain)
}

// seq is the number of the dossier's history event, as the secretariat
// reads it.
func (e *mlEnv) seq(app, event string) int {
	e.t.Helper()
	var h struct{ Items []Event }
	e.tm.MustDo(200, "GET", "/api/v1/applications/"+app+"/history", e.secretariat, nil, &h)
	seq := 0
	for _, ev := range h.Items {
		if ev.Event == event {
			if seq != 0 {
				e.t.Fatalf("%s has two %s events", app, event)
			}
			seq = ev.Seq
		}
	}
	if seq == 0 {
		e.t.Fatalf("%s has no %s event: %+v", app, event, h.Items)
	}
	return seq
}

// mlReader is an address and the language it reads the dossier's e-mails in.
type mlReader struct{ Email, Lang string }

// expect lists the copies of the dossier's move to the party's readers.
func (e *mlEnv) expect(d Dossier, event, party, note string, readers ...mlReader) []mlCopy {
	e.t.Helper()
	seq := e.seq(d.ID, event)
	var out []mlCopy
	for _, r := range readers {
		out = append(out, mlCopy{Rcpt: r.Email, Lang: r.Lang, Event: event, Party: party, City: d.City, Field: d.Field, App: d.ID, Seq: seq, Note: note})
	}
	return out
}

// check asserts that got is exactly the copies want, each once: the
// envelope and the To header name the reader, the subject is the catalog's
// in the reader's language, the Message-ID the copy's own, and the body
// names the city and the dossier, and the reason when there is one.
func (e *mlEnv) check(got []mlMail, want []mlCopy) {
	e.t.Helper()
	t := e.t
	byID := map[string]mlMail{}
	seen := map[string]int{}
	for _, m := range got {
		byID[m.MessageID] = m
		seen["id "+m.MessageID]++
		seen["to "+strings.ToLower(m.To)+" subject "+m.Subject]++
		if m.From != "no-reply@"+mlDomain || len(m.Rcpt) != 1 || !strings.EqualFold(m.Rcpt[0], m.To) {
			t.Errorf("envelope %s → %v for a message to %s", m.From, m.Rcpt, m.To)
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%s: received %d times", k, n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("received %d e-mails, want %d", len(got), len(want))
	}
	for _, c := range want {
		id := c.messageID()
		m, ok := byID[id]
		if !ok {
			t.Errorf("no e-mail %s (%s of %s to %s)", id, c.Event, c.City, c.Rcpt)
			continue
		}
		if subject := e.subject(c); m.Subject != subject || !strings.EqualFold(m.To, c.Rcpt) || m.Language != c.Lang {
			t.Errorf("e-mail %s: to %s, %q in %q; want to %s, %q in %s", id, m.To, m.Subject, m.Language, c.Rcpt, subject, c.Lang)
		}
		if !strings.Contains(m.Body, c.City) || !strings.Contains(m.Body, c.App) || (c.Note != "" && !strings.Contains(m.Body, c.Note)) {
			t.Errorf("e-mail %s (%s of %s) lacks the city, the dossier or the reason %q:\n%s", id, c.Event, c.City, c.Note, m.Body)
		}
		if strings.Contains(m.Subject+m.Body, "%!") {
			t.Errorf("e-mail %s has a formatting error: %q\n%s", id, m.Subject, m.Body)
		}
	}
}

// checkOutbox asserts that every message is sent, and that each copy the
// outbox records as sent is one the server received, with its Message-ID.
func (e *mlEnv) checkOutbox(got []mlMail, messages int) {
	e.t.Helper()
	t := e.t
	// The worker records a message sent in a write of its own after the
	// SMTP server has the last copy: the server's count can be complete
	// a moment before the outbox says so.
	mlWait(t, "the outbox to record what the server received", func() bool {
		return len(e.outbox("sent")) >= messages
	}, nil)
	for _, st := range []string{"pending", "held", "failed"} {
		if l := e.outbox(st); len(l) != 0 {
			t.Errorf("%d messages %s, want none: %+v", len(l), st, l[0])
		}
	}
	sent := e.outbox("sent")
	if len(sent) != messages {
		t.Errorf("%d messages sent, want %d", len(sent), messages)
	}
	byID := map[string]mlMail{}
	for _, m := range got {
		byID[m.MessageID] = m
	}
	copies := 0
	for _, m := range sent {
		if m.State != "sent" || m.SentAt == nil || m.LastError != "" || len(m.Sent) == 0 {
			t.Errorf("sent message %+v", m)
		}
		for _, addr := range m.Sent {
			copies++
			r, ok := byID[m.MessageID(addr, mlDomain)]
			if !ok || !strings.EqualFold(r.To, addr) || !strings.Contains(r.Body, m.Application) {
				t.Errorf("the outbox has %s (%s of %s) sent to %s; the server has no such e-mail", m.ID, m.Event, m.City, addr)
			}
		}
	}
	if copies != len(got) {
		t.Errorf("the outbox records %d copies sent; the server received %d", copies, len(got))
	}
}

// contact is the main contact of a city's dossier (see contacts).
func contact(c *city) string {
	return "culture@" + strings.ToLower(strings.ReplaceAll(c.Name, " ", "-")) + ".example.org"
}

// TestMail_EndToEnd_EveryMoveItsEmailsResultsOnRelease follows a call from
// the submissions to the released results and checks every e-mail the SMTP
// server receives: the receipts and the endorsement requests, the
// endorsement, the decline with its reason, the acceptances; the results
// held at the announcement (refused release before it; a later move's
// e-mails arrive, the results do not) until the secretariat releases them,
// once. Each reader reads its own language.
func TestMail_EndToEnd_EveryMoveItsEmailsResultsOnRelease(t *testing.T) {
	start := time.Now()
	e := mlStart(t, true)
	tm := e.tm
	const callID = "uccn-2027"
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, callBody(callID), nil)
	// A second call, open well past the first's announcement.
	next := callBody("uccn-next")
	next["submission_deadline"] = callAnnounce.AddDate(0, 1, 0).Format(time.RFC3339)
	next["endorsement_deadline"] = callAnnounce.AddDate(0, 2, 0).Format(time.RFC3339)
	next["evaluation_deadline"] = callAnnounce.AddDate(0, 3, 0).Format(time.RFC3339)
	next["announcement_at"] = callAnnounce.AddDate(0, 4, 0).Format(time.RFC3339)
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, next, nil)

	commissionFR := tm.MustUser("commission@fr.example.org", engine.RoleCommission, "FR", "")
	tm.MustUser("commission-2@fr.example.org", engine.RoleCommission, "FR", "")
	commissionPT := tm.MustUser("commission@pt.example.org", engine.RoleCommission, "PT", "")
	e.french(tm.MustLogin("commission-2@fr.example.org", testPassword))
	lyon := tm.newCity("Lyon", "FR", "Film")
	dijon := tm.newCity("Dijon", "FR", "Gastronomy")
	porto := tm.newCity("Porto", "PT", "Design")
	tours := tm.newCity("Tours", "FR", "Music")
	e.french(lyon.Token)
	fr := []mlReader{{"commission@fr.example.org", "en"}, {"commission-2@fr.example.org", "fr"}}
	pt := []mlReader{{"commission@pt.example.org", "en"}}
	readers := map[*city][]mlReader{
		lyon:  {{lyon.Email, "fr"}, {contact(lyon), "en"}},
		dijon: {{dijon.Email, "en"}, {contact(dijon), "fr"}}, // a French dossier
		porto: {{porto.Email, "en"}, {contact(porto), "en"}},
		tours: {{tours.Email, "en"}, {contact(tours), "en"}},
	}

	// Submissions: a receipt to the city, a request to its commission.
	for _, c := range []*city{lyon, dijon, porto} {
		tm.startDossier(c, callID)
		body := completeDraft(c.Dossier.Version, c.Name)
		if c == dijon {
			body["language"] = "fr"
		}
		tm.MustDo(200, "PUT", "/api/v1/applications/"+c.Dossier.ID, c.Token, body, &c.Dossier)
		tm.move(c.Token, &c.Dossier, "submit", "", "submitted")
	}
	e.waitMails(2*3+2+2+1, nil)
	// The commissions decide; the secretariat, after the close, accepts.
	const reason = "The plan does not involve the city's creative sector (« secteur créatif »)."
	tm.move(commissionFR, &lyon.Dossier, "endorse", "", "endorsed")
	tm.move(commissionFR, &dijon.Dossier, "endorse", "", "endorsed")
	tm.move(commissionPT, &porto.Dossier, "decline", reason, "not_endorsed")
	e.waitMails(11+6, nil)
	tm.Advance(callClose.Add(time.Minute))
	e.relogin(lyon, dijon, porto, tours)
	tm.move(e.secretariat, &lyon.Dossier, "accept", "", "eligible")
	tm.move(e.secretariat, &dijon.Dossier, "accept", "", "eligible")
	tm.move(e.secretariat, &lyon.Dossier, "start_evaluation", "", "under_evaluation")
	tm.move(e.secretariat, &dijon.Dossier, "start_evaluation", "", "under_evaluation")
	tm.move(e.secretariat, &lyon.Dossier, "recommend", "", "recommended")
	tm.move(e.secretariat, &dijon.Dossier, "not_recommend", "", "not_recommended")
	e.waitMails(17+4, nil)

	// Before the announcement the release is refused and changes nothing.
	tm.Advance(callAnnounce.Add(-time.Minute))
	e.relogin(lyon, dijon, porto, tours)
	outboxBefore := tm.Raw("/api/v1/outbox?limit=500", e.secretariat)
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/calls/"+callID+"/results/release", e.secretariat, nil)
	tm.MustUnchanged("/api/v1/outbox?limit=500", e.secretariat, outboxBefore)

	// The announcement writes the results, held.
	tm.Advance(callAnnounce)
	e.relogin(lyon, dijon, porto, tours)
	held := e.outbox("held")
	if len(held) != 2 {
		t.Fatalf("%d messages held at the announcement, want Lyon's and Dijon's results", len(held))
	}
	for _, m := range held {
		if m.Attempts != 0 || len(m.Sent) != 0 || (m.Event != "designate" && m.Event != "not_designate") {
			t.Errorf("held %+v", m)
		}
	}
	// A move after the announcement has its e-mails delivered, by a pass of
	// the worker that leaves the held results where they are.
	tm.submitDossier(tours, "uccn-next")
	got := e.waitMails(21+4, nil)
	results := map[string]bool{}
	for _, lang := range []string{"en", "fr"} {
		results[e.subject(mlCopy{Lang: lang, Event: "designate", Party: "city", City: "Lyon", Field: "Film"})] = true
		results[e.subject(mlCopy{Lang: lang, Event: "not_designate", Party: "city", City: "Dijon", Field: "Gastronomy"})] = true
	}
	for _, m := range got {
		if results[m.Subject] {
			t.Fatalf("a result arrived before its release: %q to %s", m.Subject, m.To)
		}
	}
	if l := e.outbox("held"); len(l) != 2 {
		t.Fatalf("%d messages held after a delivery pass, want 2", len(l))
	}

	// Released: the results arrive; a second release releases nothing.
	var rel struct{ Released int }
	tm.MustDo(200, "POST", "/api/v1/calls/"+callID+"/results/release", e.secretariat, nil, &rel)
	if rel.Released != 2 {
		t.Fatalf("released %d, want 2", rel.Released)
	}
	got = e.waitMails(25+4, nil)
	tm.MustDo(200, "POST", "/api/v1/calls/"+callID+"/results/release", e.admin, nil, &rel)
	if rel.Released != 0 {
		t.Fatalf("the second release released %d, want 0", rel.Released)
	}

	var want []mlCopy
	for _, c := range []*city{lyon, dijon, porto} {
		want = append(want, e.expect(c.Dossier, "submit", "city", "", readers[c]...)...)
	}
	want = append(want, e.expect(lyon.Dossier, "submit", "commission", "", fr...)...)
	want = append(want, e.expect(dijon.Dossier, "submit", "commission", "", fr...)...)
	want = append(want, e.expect(porto.Dossier, "submit", "commission", "", pt...)...)
	want = append(want, e.expect(lyon.Dossier, "endorse", "city", "", readers[lyon]...)...)
	want = append(want, e.expect(dijon.Dossier, "endorse", "city", "", readers[dijon]...)...)
	want = append(want, e.expect(porto.Dossier, "decline", "city", reason, readers[porto]...)...)
	want = append(want, e.expect(lyon.Dossier, "accept", "city", "", readers[lyon]...)...)
	want = append(want, e.expect(dijon.Dossier, "accept", "city", "", readers[dijon]...)...)
	want = append(want, e.expect(tours.Dossier, "submit", "city", "", readers[tours]...)...)
	want = append(want, e.expect(tours.Dossier, "submit", "commission", "", fr...)...)
	want = append(want, e.expect(lyon.Dossier, "designate", "city", "", readers[lyon]...)...)
	want = append(want, e.expect(dijon.Dossier, "not_designate", "city", "", readers[dijon]...)...)
	if len(want) != 29 {
		t.Fatalf("the test expects %d e-mails; it was written for 29", len(want))
	}
	e.check(got, want)
	e.checkOutbox(got, 15)
	// Lyon's account reads French, its contact English: each of their
	// e-mails' subjects differs between the two (check holds each to its
	// language).
	for _, c := range want {
		if c.App == lyon.Dossier.ID && c.Party == "city" {
			fr, en := c, c
			fr.Lang, en.Lang = "fr", "en"
			if e.subject(fr) == e.subject(en) {
				t.Errorf("the %s subject is the same in French and English: %q", c.Event, e.subject(fr))
			}
		}
	}
	t.Logf("%d e-mails checked in %v", len(got), time.Since(start).Round(time.Millisecond))
}

// mlOutboxBuckets is the outbox's part of the database: its messages and
// their queues.
func mlOutboxBuckets(t *testing.T, tm *TestMain) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for b, kv := range dumpDB(t, tm) {
		if strings.HasPrefix(b, "outbox") {
			out[b] = kv
		}
	}
	if len(out) != 4 {
		t.Fatalf("the database has outbox buckets %v, want the messages and three queues", slices.Sorted(maps.Keys(out)))
	}
	return out
}

// TestMail_RefusedMovesWriteNoMessage: a move the engine refuses writes no
// e-mail, in the database or on the wire; the next allowed move writes its
// own and nothing else.
func TestMail_RefusedMovesWriteNoMessage(t *testing.T) {
	e := mlStart(t, true)
	tm := e.tm
	const callID = "uccn-2027"
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, callBody(callID), nil)
	commissionFR := tm.MustUser("commission@fr.example.org", engine.RoleCommission, "FR", "")
	lyon, dijon, annecy := tm.newCity("Lyon", "FR", "Film"), tm.newCity("Dijon", "FR", "Gastronomy"), tm.newCity("Annecy", "FR", "Music")
	nantes := tm.newCity("Nantes", "FR", "Design")
	for _, c := range []*city{lyon, dijon, annecy} {
		tm.submitDossier(c, callID)
	}
	tm.move(commissionFR, &lyon.Dossier, "endorse", "", "endorsed")
	tm.move(commissionFR, &dijon.Dossier, "endorse", "", "endorsed")
	tm.startDossier(nantes, callID) // never completed
	got := e.waitMails(3*3+2*2, nil)
	mlWait(t, "the outbox to empty", func() bool { return len(e.outbox("pending")) == 0 }, nil)

	before := mlOutboxBuckets(t, tm)
	listed := tm.Raw("/api/v1/outbox?limit=500", e.secretariat)
	path := func(c *city) string { return "/api/v1/applications/" + c.Dossier.ID + "/transitions" }
	for _, c := range []struct {
		name, path, token string
		body              map[string]any
		status            int
		code              string
	}{
		{"a third endorsement, over the quota", path(annecy), commissionFR, map[string]any{"event": "endorse"}, 409, "quota_exceeded"},
		{"the submission of an incomplete draft", path(nantes), nantes.Token, map[string]any{"event": "submit"}, 422, "incomplete"},
		{"a decline without a reason", path(annecy), commissionFR, map[string]any{"event": "decline"}, 400, "invalid"},
		{"an acceptance before the close", path(lyon), e.secretariat, map[string]any{"event": "accept"}, 409, "invalid_transition"},
		{"a decline at a stale version", path(annecy), commissionFR, map[string]any{"event": "decline", "note": "No.", "version": annecy.Dossier.Version - 1}, 409, "stale_version"},
		{"a decline by the city itself", path(annecy), annecy.Token, map[string]any{"event": "decline", "note": "No."}, 403, "forbidden"},
	} {
		tm.MustFail(c.status, c.code, "POST", c.path, c.token, c.body)
		if diffs := diffDB(before, mlOutboxBuckets(t, tm)); len(diffs) != 0 {
			t.Errorf("%s, refused, changed the outbox:\n%s", c.name, strings.Join(diffs, "\n"))
		}
		tm.MustUnchanged("/api/v1/outbox?limit=500", e.secretariat, listed)
	}

	// The next allowed move writes one message, and only its e-mails go.
	tm.move(commissionFR, &annecy.Dossier, "decline", "France has its two.", "not_endorsed")
	after := mlOutboxBuckets(t, tm)
	if n := len(after["outbox"]) - len(before["outbox"]); n != 1 {
		t.Fatalf("the decline wrote %d messages, want 1", n)
	}
	got = e.waitMails(len(got)+2, nil)
	mlWait(t, "the outbox to empty", func() bool { return len(e.outbox("pending")) == 0 }, nil)
	got = e.mails()
	declined := e.subject(mlCopy{Lang: "en", Event: "decline", Party: "city", City: "Annecy", Field: "Music"})
	if last := got[len(got)-2:]; last[0].Subject != declined || last[1].Subject != declined {
		t.Errorf("the last e-mails are %q and %q, want Annecy's decline %q", last[0].Subject, last[1].Subject, declined)
	}
	e.checkOutbox(got, 3*2+2+1)
}

// TestMail_RetriedAfterBackoffArrivesOnce: the SMTP server refuses the
// first two attempts with a 451; the outbox shows the error and the attempt
// count, the worker tries again once the engine's clock has passed each
// back-off (30 s, then 60 s), and the e-mails arrive once.
func TestMail_RetriedAfterBackoffArrivesOnce(t *testing.T) {
	e := mlStart(t, true)
	tm := e.tm
	const callID = "uccn-2027"
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, callBody(callID), nil)
	commissionFR := tm.MustUser("commission@fr.example.org", engine.RoleCommission, "FR", "")
	lyon := tm.newCity("Lyon", "FR", "Film")
	tm.submitDossier(lyon, callID)
	got := e.waitMails(3, nil)

	e.srv.set(func(s *mlServer) { s.refuse = 2 })
	moved := tm.Clock.Now()
	tm.move(commissionFR, &lyon.Dossier, "endorse", "", "endorsed")
	endorsed := e.messageOf(lyon.Dossier.ID, "endorse", engine.PartyCity)

	// Each attempt is made at the latest when the test looks, at the
	// earliest when the message is due; the next is due a back-off later.
	due := moved
	for attempt, wait := range []time.Duration{30 * time.Second, time.Minute} {
		var m engine.Message
		mlWait(t, fmt.Sprintf("attempt %d", attempt+1), func() bool {
			m = e.message(endorsed.ID)
			return m.Attempts == attempt+1
		}, e.nudgeFor(endorsed.ID))
		now := tm.Clock.Now()
		if m.State != "pending" || !strings.Contains(m.LastError, "451") || len(m.Sent) != 0 ||
			m.NextAttempt.Add(-wait).Before(due) || m.NextAttempt.Add(-wait).After(now) {
			t.Fatalf("after attempt %d (made between %s and %s): %+v; want pending with the 451, due %v after the attempt", attempt+1, due, now, m, wait)
		}
		if list, refused := e.srv.received(); len(list) != len(got) || refused != attempt+1 {
			t.Fatalf("after attempt %d the server accepted %d and refused %d", attempt+1, len(list)-len(got), refused)
		}
		due = m.NextAttempt
		tm.Clock.Set(due)
	}
	got = e.waitMails(len(got)+2, e.nudgeFor(endorsed.ID))
	mlWait(t, "the endorsement sent", func() bool { return e.message(endorsed.ID).State == "sent" }, e.nudgeFor(endorsed.ID))
	m := e.message(endorsed.ID)
	if m.Attempts != 3 || m.LastError != "" || len(m.Sent) != 2 {
		t.Fatalf("sent after %d attempts (last error %q, sent to %v), want 3, no error, both addresses", m.Attempts, m.LastError, m.Sent)
	}
	readers := []mlReader{{lyon.Email, "en"}, {contact(lyon), "en"}}
	want := append(e.expect(lyon.Dossier, "submit", "city", "", readers...), e.expect(lyon.Dossier, "submit", "commission", "", mlReader{"commission@fr.example.org", "en"})...)
	want = append(want, e.expect(lyon.Dossier, "endorse", "city", "", readers...)...)
	e.check(got, want)
	e.checkOutbox(got, 3)
	if _, refused := e.srv.received(); refused != 2 {
		t.Errorf("the server refused %d deliveries, want 2", refused)
	}
}

// TestMail_FailedAfterMaxAttemptsThenRetried: a server that always refuses
// gets MaxAttempts tries, each after its back-off on the engine's clock;
// the message is then failed with the last error, tried no more; the staff
// put it back and it arrives once the server accepts.
func TestMail_FailedAfterMaxAttemptsThenRetried(t *testing.T) {
	e := mlStart(t, true)
	tm := e.tm
	const callID = "uccn-2027"
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, callBody(callID), nil)
	commissionFR := tm.MustUser("commission@fr.example.org", engine.RoleCommission, "FR", "")
	lyon := tm.newCity("Lyon", "FR", "Film")
	tm.submitDossier(lyon, callID)
	got := e.waitMails(3, nil)

	e.srv.set(func(s *mlServer) { s.refuseAll = true })
	tm.move(commissionFR, &lyon.Dossier, "endorse", "", "endorsed")
	id := e.messageOf(lyon.Dossier.ID, "endorse", engine.PartyCity).ID
	// Not retryable while it is still being tried.
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/outbox/"+id+"/retry", e.secretariat, nil)
	for attempt := 1; attempt <= engine.MaxAttempts; attempt++ {
		var m engine.Message
		mlWait(t, fmt.Sprintf("attempt %d", attempt), func() bool {
			m = e.message(id)
			return m.Attempts == attempt
		}, e.nudgeFor(id))
		if _, refused := e.srv.received(); refused != attempt {
			t.Fatalf("after attempt %d the server refused %d deliveries", attempt, refused)
		}
		if !strings.Contains(m.LastError, "451") {
			t.Fatalf("after attempt %d the last error is %q, want the 451", attempt, m.LastError)
		}
		if attempt < engine.MaxAttempts {
			if m.State != "pending" {
				t.Fatalf("after attempt %d: %s", attempt, m.State)
			}
			tm.Clock.Set(m.NextAttempt)
			continue
		}
		if m.State != "failed" {
			t.Fatalf("after attempt %d: %+v, want failed", attempt, m)
		}
	}
	failed := e.outbox("failed")
	if len(failed) != 1 || failed[0].ID != id || !strings.Contains(failed[0].LastError, "451") || !strings.Contains(failed[0].LastError, "try again later") {
		t.Fatalf("failed list %+v, want the endorsement with the server's answer", failed)
	}
	// Failed is final: hours later it is not due, and nothing was tried.
	tm.Clock.Add(5 * time.Hour)
	e.relogin(lyon)
	if n, err := tm.Service.DeliverDue(context.Background(), mlNoMailer{t}, nil); n != 0 || err != nil {
		t.Fatalf("a delivery pass hours later: %d, %v", n, err)
	}
	if _, refused := e.srv.received(); refused != engine.MaxAttempts {
		t.Fatalf("the server refused %d deliveries, want %d", refused, engine.MaxAttempts)
	}

	// Only the staff retry; the retry is immediate and the e-mails arrive.
	tm.MustFail(403, "forbidden", "POST", "/api/v1/outbox/"+id+"/retry", lyon.Token, nil)
	tm.MustFail(401, "unauthorized", "POST", "/api/v1/outbox/"+id+"/retry", "", nil)
	e.srv.set(func(s *mlServer) { s.refuseAll = false })
	var retried engine.Message
	tm.MustDo(200, "POST", "/api/v1/outbox/"+id+"/retry", e.admin, nil, &retried)
	if retried.ID != id || retried.State != "pending" || retried.Attempts != 0 {
		t.Fatalf("retried %+v, want pending with no attempt", retried)
	}
	got = e.waitMails(len(got)+2, nil)
	mlWait(t, "the endorsement sent", func() bool { return e.message(id).State == "sent" }, nil)
	if m := e.message(id); m.Attempts != 1 || m.LastError != "" {
		t.Fatalf("after the retry: %+v", m)
	}
	tm.MustFail(409, "invalid_transition", "POST", "/api/v1/outbox/"+id+"/retry", e.secretariat, nil)
	readers := []mlReader{{lyon.Email, "en"}, {contact(lyon), "en"}}
	want := append(e.expect(lyon.Dossier, "submit", "city", "", readers...), e.expect(lyon.Dossier, "submit", "commission", "", mlReader{"commission@fr.example.org", "en"})...)
	want = append(want, e.expect(lyon.Dossier, "endorse", "city", "", readers...)...)
	e.check(got, want)
	e.checkOutbox(got, 3)
}

// TestMail_RestartDuringDelivery: thirty cities submit while delivery is
// off; it is turned on (a restart), and while the SMTP server holds the
// 25th e-mail unanswered the program restarts again. The server answers
// that e-mail only once the restart has begun (the old program's port is
// closed), so the copy in flight is accepted while the program stops.
// After the restart every e-mail arrives, none twice, whether by
// Message-ID or by recipient and subject.
func TestMail_RestartDuringDelivery(t *testing.T) {
	e := mlStart(t, false)
	tm := e.tm
	const callID = "uccn-2027"
	const cities = 30
	const holdAt = 25
	tm.MustDo(201, "POST", "/api/v1/calls", e.secretariat, callBody(callID), nil)
	commissions := map[string][]mlReader{}
	for _, c := range []struct{ email, country string }{
		{"commission@fr.example.org", "FR"}, {"commission-2@fr.example.org", "FR"}, {"commission@pt.example.org", "PT"}, {"commission@es.example.org", "ES"},
	} {
		tm.MustUser(c.email, engine.RoleCommission, c.country, "")
		commissions[c.country] = append(commissions[c.country], mlReader{c.email, "en"})
	}
	var all []*city
	for i := range cities {
		country := []string{"FR", "PT", "ES"}[i%3]
		c := tm.newCity(fmt.Sprintf("City %02d %s", i, country), country, "Film")
		tm.submitDossier(c, callID)
		all = append(all, c)
	}
	var want []mlCopy
	for _, c := range all {
		want = append(want, e.expect(c.Dossier, "submit", "city", "", mlReader{c.Email, "en"}, mlReader{contact(c), "en"})...)
		want = append(want, e.expect(c.Dossier, "submit", "commission", "", commissions[c.Country]...)...)
	}
	if len(e.mails()) != 0 || len(e.outbox("pending")) != 2*cities {
		t.Fatalf("with delivery off: %d e-mails sent, %d pending", len(e.mails()), len(e.outbox("pending")))
	}

	// The server holds the 25th e-mail until the restart has begun.
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	e.srv.set(func(s *mlServer) {
		s.phase = 1
		s.hold = func(n int) {
			if n == holdAt {
				close(held)
				<-release
			}
		}
	})
	tm.Main.Config.Mail.Deliver = true
	tm.Restart()
	select {
	case <-held:
	case <-time.After(time.Minute):
		t.Fatalf("the %dth e-mail never reached the server (%d did)", holdAt, len(e.mails()))
	}
	if n := len(e.mails()); n != holdAt-1 {
		t.Fatalf("%d e-mails arrived before the held one, want %d", n, holdAt-1)
	}
	// Once the old program no longer takes connections, it is stopping:
	// the server then answers the e-mail in flight.
	oldAddr := strings.TrimPrefix(tm.URL(), "http://")
	released := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			c, err := net.DialTimeout("tcp", oldAddr, time.Second)
			if err != nil {
				once.Do(func() { close(release) })
				released <- nil
				return
			}
			c.Close()
			time.Sleep(time.Millisecond)
		}
		once.Do(func() { close(release) })
		released <- fmt.Errorf("the program at %s never stopped taking connections", oldAddr)
	}()
	tm.Restart()
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	e.srv.set(func(s *mlServer) { s.phase = 2 })

	got := e.waitMails(len(want), nil)
	mlWait(t, "every message sent", func() bool { return len(e.outbox("sent")) == 2*cities }, nil)
	got = e.mails()
	e.check(got, want)
	e.checkOutbox(got, 2*cities)
	phases := map[int]int{}
	for _, m := range got {
		phases[m.Phase]++
	}
	if phases[1] < holdAt || phases[0] != 0 {
		t.Errorf("e-mails by phase %v: want the first %d (the held one included) before the second restart", phases, holdAt)
	}
	t.Logf("%d e-mails: %d before the second restart completed, %d after", len(got), phases[1], phases[2])
}
