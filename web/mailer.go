package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"time"

	"designate/engine"
)

// MailConfig says how e-mails leave: over SMTP, or, with no host, into a
// directory as .eml files (the demo's default, to read them without a mail
// server).
type MailConfig struct {
	From string
	// Domain ends every Message-ID.
	Domain   string
	Host     string
	Port     int
	StartTLS bool
	Username string
	Password string
	// Dir receives the messages when Host is empty.
	Dir string
	// Timeout bounds one delivery.
	Timeout time.Duration
}

// Mailer renders the outbox's messages from the catalogs, in each reader's
// language, and hands them to SMTP or to a directory. It implements
// engine.Mailer.
type Mailer struct {
	cfg     MailConfig
	catalog catalog
	// idle holds SMTP sessions open between copies (see smtpSend).
	idle chan *smtpSession
	// Now dates the messages; the engine's clock in tests.
	Now func() time.Time
}

// NewMailer returns a Mailer over the built-in catalogs.
func NewMailer(cfg MailConfig) (*Mailer, error) {
	c, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Domain == "" {
		cfg.Domain = "designate.invalid"
	}
	return &Mailer{cfg: cfg, catalog: c, Now: time.Now, idle: make(chan *smtpSession, engine.DefaultOutboxParallel)}, nil
}

var _ engine.Mailer = (*Mailer)(nil)

// Render writes the copy of m for one reader: headers and a quoted-printable
// UTF-8 body.
func (ml *Mailer) Render(m *engine.Message, call *engine.Call, to engine.Recipient) ([]byte, error) {
	lang := to.Language
	if lang != french {
		lang = english
	}
	t := tr{lang: lang, c: ml.catalog}
	key := "mail." + m.Event + "." + string(m.To)
	if !t.Has(key + ".subject") {
		return nil, fmt.Errorf("no e-mail text %s", key)
	}
	subject := t.S(key+".subject", m.City, t.Field(m.Field))
	body := t.S(key+".body", m.City, t.Field(m.Field), call.Title, m.Application, m.Note)
	body += "\n\n" + t.S("mail.footer", t.When(m.CreatedAt, call.TimeZone))
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", ml.cfg.From)
	h("To", to.Email)
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", ml.Now().UTC().Format(time.RFC1123Z))
	h("Message-ID", m.MessageID(to.Email, ml.cfg.Domain))
	h("Content-Language", lang)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Send delivers one copy.
func (ml *Mailer) Send(ctx context.Context, m *engine.Message, call *engine.Call, to engine.Recipient) error {
	raw, err := ml.Render(m, call, to)
	if err != nil {
		return err
	}
	if ml.cfg.Host == "" {
		return ml.drop(m, to, raw)
	}
	ctx, cancel := context.WithTimeout(ctx, ml.cfg.Timeout)
	defer cancel()
	return ml.smtpSend(ctx, to.Email, raw)
}

// drop writes the copy into the directory, named by its Message-ID so a
// second delivery of the same copy replaces the first.
func (ml *Mailer) drop(m *engine.Message, to engine.Recipient, raw []byte) error {
	if err := os.MkdirAll(ml.cfg.Dir, 0o700); err != nil {
		return err
	}
	name := strings.Trim(m.MessageID(to.Email, ml.cfg.Domain), "<>")
	name = strings.NewReplacer("@", "_", "/", "_").Replace(name) + ".eml"
	return os.WriteFile(filepath.Join(ml.cfg.Dir, name), raw, 0o600)
}

// smtpSend hands one copy to the configured SMTP server, on a session kept
// open from an earlier copy when there is one: a connection, its greeting,
// STARTTLS and AUTH cost more than the copy itself, and the outbox sends
// thousands of copies a minute under a submission storm.
func (ml *Mailer) smtpSend(ctx context.Context, to string, raw []byte) error {
	from := ml.cfg.From
	if a, err := mailAddress(from); err == nil {
		from = a
	}
	for {
		sess, reused, err := ml.session(ctx)
		if err != nil {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok {
			_ = sess.conn.SetDeadline(deadline)
		}
		if reused {
			// A kept session the server has since closed fails here,
			// before anything of this copy was sent: open another.
			if err := sess.client.Reset(); err != nil {
				sess.close()
				continue
			}
		}
		if err := smtpTransaction(sess.client, from, to, raw); err != nil {
			// Whatever the server made of a half-done transaction, the
			// session is not reused: the outbox tries the copy again
			// later, with the same Message-ID.
			sess.close()
			return err
		}
		ml.keep(sess)
		return nil
	}
}

func smtpTransaction(c *smtp.Client, from, to string, raw []byte) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	return w.Close()
}

// smtpSession is an SMTP connection past its greeting, STARTTLS and AUTH,
// ready for a transaction.
type smtpSession struct {
	conn   net.Conn
	client *smtp.Client
	idle   time.Time // when it was last put back
}

func (s *smtpSession) close() {
	_ = s.client.Close()
}

// smtpIdle is how long a session is kept unused. Servers drop idle
// sessions after minutes (RFC 5321 suggests 5); the outbox keeps them only
// between copies of a busy moment.
const smtpIdle = 10 * time.Second

// session takes a kept session, or opens one.
func (ml *Mailer) session(ctx context.Context) (*smtpSession, bool, error) {
	for {
		select {
		case s := <-ml.idle:
			if time.Since(s.idle) < smtpIdle {
				return s, true, nil
			}
			_ = s.client.Quit()
			s.close()
			continue
		default:
		}
		s, err := ml.dial(ctx)
		return s, false, err
	}
}

// keep puts a session back for the next copy, or ends it when enough are
// kept.
func (ml *Mailer) keep(s *smtpSession) {
	_ = s.conn.SetDeadline(time.Time{})
	s.idle = time.Now()
	select {
	case ml.idle <- s:
	default:
		_ = s.client.Quit()
		s.close()
	}
}

// Close ends the kept sessions.
func (ml *Mailer) Close() {
	for {
		select {
		case s := <-ml.idle:
			_ = s.client.Quit()
			s.close()
		default:
			return
		}
	}
}

// dial opens a session: STARTTLS when asked (and then required), AUTH
// PLAIN when there are credentials.
func (ml *Mailer) dial(ctx context.Context) (*smtpSession, error) {
	addr := net.JoinHostPort(ml.cfg.Host, fmt.Sprint(ml.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	c, err := smtp.NewClient(conn, ml.cfg.Host)
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &smtpSession{conn: conn, client: c}
	if err := ml.greet(c, addr); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (ml *Mailer) greet(c *smtp.Client, addr string) error {
	if err := c.Hello(ml.cfg.Domain); err != nil {
		return err
	}
	if ml.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%s does not offer STARTTLS, which the configuration requires", addr)
		}
		if err := c.StartTLS(&tls.Config{ServerName: ml.cfg.Host, MinVersion: tls.VersionTLS12}); err != nil {
			return err
		}
	}
	if ml.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", ml.cfg.Username, ml.cfg.Password, ml.cfg.Host)); err != nil {
			return err
		}
	}
	return nil
}

// mailAddress is the bare address of "Name <address>".
func mailAddress(s string) (string, error) {
	a, err := (&mail.AddressParser{}).Parse(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}
