package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"designate/engine"
)

// The e-mails' texts and their rendering: every message the lifecycle sends
// has its subject and body in both languages, and every copy is a
// well-formed MIME message a mail reader decodes to the catalog's text.

// mlwNotified is every (event, party) pair the lifecycle writes to the
// outbox, each once, in the table's order.
func mlwNotified(t *testing.T) [][2]string {
	t.Helper()
	var out [][2]string
	for _, tr := range engine.Lifecycle {
		for _, p := range tr.Notify {
			pair := [2]string{tr.Event, string(p)}
			if !slices.Contains(out, pair) {
				out = append(out, pair)
			}
		}
	}
	if len(out) < 7 {
		t.Fatalf("the lifecycle notifies only %v", out)
	}
	return out
}

// TestMailer_CatalogHasEveryNotifiedEvent requires a subject and a body for
// every (event, party) the lifecycle notifies, in English and French, and
// the footer; and no mail text that no move sends.
func TestMailer_CatalogHasEveryNotifiedEvent(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"mail.footer": true}
	for _, pair := range mlwNotified(t) {
		for _, part := range []string{"subject", "body"} {
			want["mail."+pair[0]+"."+pair[1]+"."+part] = true
		}
	}
	for _, lang := range []string{english, french} {
		for k := range want {
			if strings.TrimSpace(c[lang][k]) == "" {
				t.Errorf("%s: no text for %s", lang, k)
			}
		}
		for k := range c[lang] {
			if strings.HasPrefix(k, "mail.") && !want[k] {
				t.Errorf("%s: %s is a mail text no move sends", lang, k)
			}
		}
	}
}

// mlwCall is the call the rendered messages are about.
func mlwCall() *engine.Call {
	return &engine.Call{ID: "uccn-2027", Title: "Creative Cities Network — call 2027", TimeZone: "Europe/Paris"}
}

// mlwMessage is a message of the event to the party, about Saint-Étienne's
// dossier in Film, with a reason for the moves that need one (long and
// accented, so that the body has soft line breaks and encoded bytes).
func mlwMessage(event, party string) *engine.Message {
	m := &engine.Message{ID: "01JRB7Z8Q4M9X2KT", Event: event, To: engine.Party(party), Application: "01JRB7Y2W3N4P5QR",
		Call: "uccn-2027", City: "Saint-Étienne", Country: "FR", Field: "Film", Seq: 3, State: engine.MessagePending,
		CreatedAt: time.Date(2027, 5, 2, 14, 30, 0, 0, time.UTC)}
	if event == engine.EventDecline || event == engine.EventReject {
		m.Note = "Le plan d'action ne dit pas comment le secteur créatif de la ville y participe ; " +
			"les lettres de soutien des partenaires manquent = à compléter. 100 % requis."
	}
	return m
}

// mlwSubject is the catalog's subject of m in lang.
func mlwSubject(t *testing.T, m *engine.Message, lang string) string {
	t.Helper()
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	tr := tr{lang: lang, c: c}
	return fmt.Sprintf(c[lang]["mail."+m.Event+"."+string(m.To)+".subject"], m.City, tr.Field(m.Field))
}

// mlwNow dates the rendered messages.
var mlwNow = time.Date(2027, 5, 2, 14, 30, 5, 0, time.UTC)

func mlwMailer(t *testing.T, cfg MailConfig) *Mailer {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "designate <no-reply@designate.example>"
	}
	if cfg.Domain == "" {
		cfg.Domain = "designate.example"
	}
	ml, err := NewMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ml.Now = func() time.Time { return mlwNow }
	return ml
}

// mlwParsed is a rendered copy as a mail reader sees it.
type mlwParsed struct {
	Header  mail.Header
	Subject string // decoded
	Body    string // decoded, with \n line ends
}

// mlwParse reads raw as a mail reader does, failing the test where it is
// not a well-formed quoted-printable UTF-8 text message.
func mlwParse(t *testing.T, raw []byte) mlwParsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q, want quoted-printable", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("the body is not quoted-printable: %v", err)
	}
	// RFC 5322's hard limit on any line, and RFC 2045's on an encoded one.
	head, encoded, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 998 {
			t.Errorf("a header line has %d characters (more than 998): %q", len(line), line)
		}
	}
	for _, line := range strings.Split(encoded, "\r\n") {
		if len(line) > 76 {
			t.Errorf("a body line has %d characters (more than quoted-printable's 76): %q", len(line), line)
		}
	}
	return mlwParsed{Header: msg.Header, Subject: subject, Body: strings.ReplaceAll(string(body), "\r\n", "\n")}
}

// TestMailer_RenderEveryMessageInBothLanguages renders every notified
// message for a reader of each language and reads it back as a mail reader
// does: the headers are there and right, the subject decodes to the
// catalog's text, the body to a text that names the city, the field in the
// reader's language, the call and the dossier, and the reason of a decline
// or a rejection; no formatting error anywhere.
func TestMailer_RenderEveryMessageInBothLanguages(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	ml := mlwMailer(t, MailConfig{})
	call := mlwCall()
	// The field as each language names it: Film, Cinéma.
	fields := map[string]string{}
	for _, lang := range []string{english, french} {
		fields[lang] = tr{lang: lang, c: c}.Field("Film")
	}
	if fields[english] == fields[french] {
		t.Fatalf("the catalogs name Film %q in both languages; the test needs a field they translate", fields[english])
	}
	for _, pair := range mlwNotified(t) {
		event, party := pair[0], pair[1]
		for _, lang := range []string{english, french} {
			t.Run(event+"/"+party+"/"+lang, func(t *testing.T) {
				m := mlwMessage(event, party)
				to := engine.Recipient{Email: "Culture@Saint-Etienne.example.org", Language: lang}
				raw, err := ml.Render(m, call, to)
				if err != nil {
					t.Fatal(err)
				}
				p := mlwParse(t, raw)
				h := p.Header
				key := "mail." + event + "." + party
				tr := tr{lang: lang, c: c}
				wantSubject := fmt.Sprintf(c[lang][key+".subject"], m.City, fields[lang])
				if p.Subject != wantSubject {
					t.Errorf("Subject %q, want %q", p.Subject, wantSubject)
				}
				if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != "no-reply@designate.example" || from.Name != "designate" {
					t.Errorf("From %q (%v), want designate <no-reply@designate.example>", h.Get("From"), err)
				}
				if got, err := mail.ParseAddress(h.Get("To")); err != nil || got.Address != to.Email {
					t.Errorf("To %q (%v), want %s", h.Get("To"), err, to.Email)
				}
				if id := h.Get("Message-ID"); id != m.MessageID(to.Email, "designate.example") || !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@designate.example>") {
					t.Errorf("Message-ID %q, want %q", id, m.MessageID(to.Email, "designate.example"))
				}
				if d, err := h.Date(); err != nil || !d.Equal(mlwNow) {
					t.Errorf("Date %q (%v), want %v", h.Get("Date"), err, mlwNow)
				}
				mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
				if err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
					t.Errorf("Content-Type %q (%v), want text/plain; charset=utf-8", h.Get("Content-Type"), err)
				}
				if h.Get("MIME-Version") != "1.0" || h.Get("Content-Language") != lang {
					t.Errorf("MIME-Version %q, Content-Language %q; want 1.0 and %s", h.Get("MIME-Version"), h.Get("Content-Language"), lang)
				}
				for _, want := range []string{m.City, fields[lang], m.Application, call.Title, tr.When(m.CreatedAt, call.TimeZone)} {
					if !strings.Contains(p.Body, want) {
						t.Errorf("the body does not say %q:\n%s", want, p.Body)
					}
				}
				if other := fields[map[string]string{english: french, french: english}[lang]]; strings.Contains(p.Body, other) {
					t.Errorf("the %s body names the field in the other language (%q):\n%s", lang, other, p.Body)
				}
				if m.Note != "" && !strings.Contains(p.Body, m.Note) {
					t.Errorf("the body does not give the reason %q:\n%s", m.Note, p.Body)
				}
				if !strings.Contains(p.Body, strings.TrimSuffix(strings.SplitN(c[lang]["mail.footer"], "%s", 2)[0], " ")) {
					t.Errorf("the body has no footer:\n%s", p.Body)
				}
				for _, s := range []string{p.Subject, p.Body} {
					if strings.Contains(s, "%!") || strings.Contains(s, "%[") || strings.Contains(s, "mail.") {
						t.Errorf("formatting error or key in %q", s)
					}
				}
			})
		}
	}
}

// A reader without a language of the pages (none, or one the catalogs do
// not have) reads English.
func TestMailer_RenderUnknownLanguageIsEnglish(t *testing.T) {
	ml := mlwMailer(t, MailConfig{})
	for _, lang := range []string{"", "de", "FR"} {
		raw, err := ml.Render(mlwMessage("endorse", "city"), mlwCall(), engine.Recipient{Email: "a@example.org", Language: lang})
		if err != nil {
			t.Fatal(err)
		}
		p := mlwParse(t, raw)
		if want := mlwSubject(t, mlwMessage("endorse", "city"), english); p.Subject != want || p.Header.Get("Content-Language") != english {
			t.Errorf("language %q: Subject %q (%s), want %q in English", lang, p.Subject, p.Header.Get("Content-Language"), want)
		}
	}
	// A message no text exists for is an error, not an empty e-mail.
	if _, err := ml.Render(mlwMessage("start_evaluation", "city"), mlwCall(), engine.Recipient{Email: "a@example.org"}); err == nil {
		t.Error("rendered a start_evaluation e-mail, which has no text")
	}
}

// Each copy's Message-ID is its own and stable: the same message to the
// same address (whatever its case) has the same id, every other copy
// another.
func TestMailer_MessageIDStablePerCopy(t *testing.T) {
	m := mlwMessage("submit", "city")
	a := m.MessageID("culture@lyon.example.org", "d.example")
	if b := m.MessageID("Culture@Lyon.Example.ORG", "d.example"); a != b {
		t.Errorf("Message-ID depends on the address's case: %s and %s", a, b)
	}
	if _, err := mail.ParseAddress("x " + a); err != nil {
		t.Errorf("Message-ID %s is not an addr-spec in angle brackets: %v", a, err)
	}
	other := *m
	other.Seq = 4
	ids := []string{a, m.MessageID("mayor@lyon.example.org", "d.example"), other.MessageID("culture@lyon.example.org", "d.example")}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 3 {
		t.Errorf("Message-IDs collide: %v", ids)
	}
}

// With no SMTP host, a copy is written to the directory as a .eml file
// named by its Message-ID; sending the same copy again replaces it.
func TestMailer_SendToDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	ml := mlwMailer(t, MailConfig{Dir: dir})
	m := mlwMessage("accept", "city")
	for range 2 {
		for _, to := range []string{"a@lyon.example.org", "b@lyon.example.org"} {
			if err := ml.Send(context.Background(), m, mlwCall(), engine.Recipient{Email: to, Language: french}); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 2 {
		t.Fatalf("files %v (%v), want one per copy", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := mlwParse(t, raw)
		if want := strings.NewReplacer("<", "", ">", "", "@", "_").Replace(p.Header.Get("Message-ID")) + ".eml"; filepath.Base(f) != want {
			t.Errorf("file %s, want %s", filepath.Base(f), want)
		}
		if want := mlwSubject(t, m, french); p.Subject != want {
			t.Errorf("Subject %q, want %q", p.Subject, want)
		}
	}
}

// mlwServer is an in-process SMTP server (emersion/go-smtp) that keeps
// every message it accepts, may require AUTH PLAIN, and refuses with 451
// while Refuse is set.
type mlwServer struct {
	Port int

	mu       sync.Mutex
	got      []mlwEnvelope
	refuse   bool
	user     string
	password string
	authed   []string
}

type mlwEnvelope struct {
	From string
	To   []string
	Data []byte
}

func mlwStartServer(t *testing.T, user, password string, configure func(*smtp.Server)) *mlwServer {
	t.Helper()
	s := &mlwServer{user: user, password: password}
	srv := smtp.NewServer(s)
	srv.Domain = "mx.example"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = mlwDiscard{} // the server may log after the test ends
	if configure != nil {
		configure(srv)
	}
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

type mlwDiscard struct{}

func (mlwDiscard) Printf(string, ...any) {}
func (mlwDiscard) Println(...any)        {}

func (s *mlwServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &mlwSession{s: s}, nil }

func (s *mlwServer) messages() []mlwEnvelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// signIns are the user names that signed in.
func (s *mlwServer) signIns() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.authed)
}

type mlwSession struct {
	s      *mlwServer
	authed bool
	env    mlwEnvelope
}

func (ss *mlwSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *mlwSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.user || password != ss.s.password {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		ss.s.mu.Lock()
		ss.s.authed = append(ss.s.authed, username)
		ss.s.mu.Unlock()
		return nil
	}), nil
}

func (ss *mlwSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.env = mlwEnvelope{From: from}
	return nil
}

func (ss *mlwSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.env.To = append(ss.env.To, to)
	return nil
}

func (ss *mlwSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.refuse {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	ss.env.Data = raw
	ss.s.got = append(ss.s.got, ss.env)
	return nil
}

func (ss *mlwSession) Reset()        { ss.env = mlwEnvelope{} }
func (ss *mlwSession) Logout() error { return nil }

// Over SMTP, with credentials: AUTH PLAIN with them, the envelope from the
// bare From address to the recipient, and the data exactly what Render
// makes; a 451 is an error the outbox retries.
func TestMailer_SendOverSMTPWithAuth(t *testing.T) {
	srv := mlwStartServer(t, "designate", "s3cret pass", nil)
	ml := mlwMailer(t, MailConfig{Host: "127.0.0.1", Port: srv.Port, Username: "designate", Password: "s3cret pass", Timeout: 10 * time.Second})
	m, call := mlwMessage("decline", "city"), mlwCall()
	to := engine.Recipient{Email: "culture@saint-etienne.example.org", Language: french}
	if err := ml.Send(context.Background(), m, call, to); err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("the server got %d messages, want 1", len(got))
	}
	want, err := ml.Render(m, call, to)
	if err != nil {
		t.Fatal(err)
	}
	// The data is the rendered copy (SMTP ends it with a line break).
	if got[0].From != "no-reply@designate.example" || !slices.Equal(got[0].To, []string{to.Email}) || !bytes.Equal(bytes.TrimSuffix(got[0].Data, []byte("\r\n")), bytes.TrimSuffix(want, []byte("\r\n"))) {
		t.Errorf("envelope %s → %v, %d bytes; want no-reply@designate.example → %s and the rendered copy (%d bytes)", got[0].From, got[0].To, len(got[0].Data), to.Email, len(want))
	}
	if p := mlwParse(t, got[0].Data); !strings.Contains(p.Body, m.Note) || p.Subject != mlwSubject(t, m, french) {
		t.Errorf("delivered %q:\n%s", p.Subject, p.Body)
	}
	if !slices.Equal(srv.signIns(), []string{"designate"}) {
		t.Errorf("signed in as %v, want designate", srv.signIns())
	}

	// Wrong credentials, and a server refusing for now: errors, nothing kept.
	bad := mlwMailer(t, MailConfig{Host: "127.0.0.1", Port: srv.Port, Username: "designate", Password: "wrong", Timeout: 10 * time.Second})
	if err := bad.Send(context.Background(), m, call, to); err == nil {
		t.Error("sent with wrong credentials")
	}
	srv.mu.Lock()
	srv.refuse = true
	srv.mu.Unlock()
	err = ml.Send(context.Background(), m, call, to)
	if err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("send to a server answering 451: %v, want the 451", err)
	}
	if n := len(srv.messages()); n != 1 {
		t.Errorf("the server kept %d messages, want still 1", n)
	}
}

// STARTTLS, when configured, is required: a server that does not offer it
// gets nothing (not even the credentials).
func TestMailer_StartTLSRequired(t *testing.T) {
	srv := mlwStartServer(t, "designate", "s3cret pass", nil)
	ml := mlwMailer(t, MailConfig{Host: "127.0.0.1", Port: srv.Port, StartTLS: true, Username: "designate", Password: "s3cret pass", Timeout: 10 * time.Second})
	err := ml.Send(context.Background(), mlwMessage("submit", "commission"), mlwCall(), engine.Recipient{Email: "commission@fr.example.org"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("send without STARTTLS offered: %v, want a refusal naming STARTTLS", err)
	}
	if len(srv.messages()) != 0 || len(srv.signIns()) != 0 {
		t.Errorf("the server got %d messages and sign-ins %v, want none", len(srv.messages()), srv.signIns())
	}
}

// A server that does not answer is given up on within the timeout, so
// that one dead server never holds the outbox.
func TestMailer_SendTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepts, never greets
		}
	}()
	ml := mlwMailer(t, MailConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Timeout: 300 * time.Millisecond})
	start := time.Now()
	if err := ml.Send(context.Background(), mlwMessage("submit", "city"), mlwCall(), engine.Recipient{Email: "a@example.org"}); err == nil {
		t.Fatal("sent to a server that never greets")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v, want about the 300ms timeout", d)
	}
}

// Copies sent one after the other share one SMTP session (one greeting,
// one sign-in); a session the server has dropped meanwhile is replaced
// without losing the copy; Close ends what is kept.
func TestMailer_KeepsTheSMTPSessionBetweenCopies(t *testing.T) {
	var sessions atomic.Int32
	srv := mlwStartServer(t, "designate", "s3cret pass", nil)
	counting := &mlwCountingServer{mlwServer: srv, sessions: &sessions}
	srv2 := smtp.NewServer(counting)
	srv2.Domain, srv2.AllowInsecureAuth, srv2.ErrorLog = "mx.example", true, mlwDiscard{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv2.Serve(ln) }()
	defer func() { srv2.Close(); <-done }()

	ml := mlwMailer(t, MailConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Username: "designate", Password: "s3cret pass", Timeout: 10 * time.Second})
	m, call := mlwMessage("submit", "city"), mlwCall()
	for i := range 5 {
		if err := ml.Send(context.Background(), m, call, engine.Recipient{Email: fmt.Sprintf("copy%d@example.org", i)}); err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
	}
	if n := sessions.Load(); n != 1 {
		t.Errorf("5 copies opened %d sessions, want 1", n)
	}
	if got := srv.signIns(); len(got) != 1 {
		t.Errorf("signed in %d times, want once", len(got))
	}
	// The server drops the kept session (as an idle timeout would): the
	// next copy goes out on a new one.
	for _, c := range counting.open() {
		c.Close()
	}
	if err := ml.Send(context.Background(), m, call, engine.Recipient{Email: "after@example.org"}); err != nil {
		t.Fatalf("the copy after the server dropped the session: %v", err)
	}
	if got := len(srv.messages()); got != 6 {
		t.Errorf("the server has %d copies, want 6", got)
	}
	if n := sessions.Load(); n != 2 {
		t.Errorf("%d sessions after a drop, want 2", n)
	}
	ml.Close()
	if n := len(ml.idle); n != 0 {
		t.Errorf("%d sessions kept after Close", n)
	}
}

// mlwCountingServer counts the SMTP sessions and keeps their connections.
type mlwCountingServer struct {
	*mlwServer
	sessions *atomic.Int32
	mu       sync.Mutex
	conns    []*smtp.Conn
}

func (s *mlwCountingServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s.sessions.Add(1)
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	return &mlwSession{s: s.mlwServer}, nil
}

// open returns the connections seen so far, and forgets them.
func (s *mlwCountingServer) open() []*smtp.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.conns
	s.conns = nil
	return out
}
