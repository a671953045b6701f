package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"designate/engine"
)

// The outbox under load. Each submission writes two e-mails, which the
// server's outbox worker sends afterwards; a rate of submissions the
// server answers but whose e-mails pile up is not a rate it sustains. So
// after each phase rush reads the backlog (GET /api/v1/outbox/counts, as
// the admin) and waits for it to drain, before the next phase starts: the
// phase counts as sustained only if its e-mails were all sent within the
// phase's own length after it ended. The backlog is the pending e-mails
// that are due; one waiting for a retry after a failure is the SMTP
// server's doing, not the worker's, but a phase that leaves more of them
// than there were is not sustained either.
//
// With --smtp-sink ADDR, rush itself listens on ADDR as an SMTP server
// that takes every e-mail and keeps none, so the drain is measured against
// a real SMTP conversation without writing to anyone; the server's
// config.yaml points mail.smtp at it (host and port of ADDR, starttls off).

// rushDrainStall is how long the backlog may stay the same size before
// rush stops waiting: the server is not delivering (mail.deliver off).
const rushDrainStall = 10 * time.Second

// rushDrainPoll is how often rush reads the backlog while it drains: the
// drain time it reports is this precise.
const rushDrainPoll = 50 * time.Millisecond

// rushOutbox is the outbox after one phase.
type rushOutbox struct {
	// Written is how many e-mails (messages, one per party) the phase's
	// moves wrote.
	Written int `json:"written"`
	// PendingAtEnd is the backlog when the phase ended.
	PendingAtEnd int `json:"pending_at_end"`
	// Drained says whether the due e-mails reached zero; DrainS is how
	// long after the phase's end they did (or until rush gave up, with
	// Left still due).
	Drained bool    `json:"drained"`
	DrainS  float64 `json:"drain_s"`
	Left    int     `json:"left,omitempty"`
	// Retrying is how many pending e-mails wait for a retry after a
	// failure, once drained.
	Retrying int `json:"retrying,omitempty"`
	// Sustained: drained within the phase's own length, and no more
	// e-mails waiting for a retry than before the phase.
	Sustained bool `json:"sustained"`
}

// rushOutboxCounts reads the outbox's counts; ok is false when the server
// has no such endpoint (an older server), and the run goes on without.
func (r *rushRun) rushOutboxCounts() (counts map[string]int, ok bool, err error) {
	status, raw, _, err := r.do("GET", "/api/v1/outbox/counts", r.admin, "", nil)
	if err != nil {
		return nil, false, err
	}
	if status == 404 {
		return nil, false, nil
	}
	if status != 200 {
		return nil, false, fmt.Errorf("GET /api/v1/outbox/counts: status %d: %s", status, rushClip(raw))
	}
	if err := json.Unmarshal(raw, &counts); err != nil {
		return nil, false, fmt.Errorf("GET /api/v1/outbox/counts: %w", err)
	}
	return counts, true, nil
}

func rushTotal(counts map[string]int) int {
	n := 0
	for _, st := range engine.MessageStates {
		n += counts[st]
	}
	return n
}

// startOutboxWatch reads the outbox before the first measured phase, so
// the first phase's e-mails are told from those already there. Without
// the endpoint, or with --drain-timeout 0, phases are not followed.
func (r *rushRun) startOutboxWatch() error {
	if r.opt.drainTimeout <= 0 {
		return nil
	}
	counts, ok, err := r.rushOutboxCounts()
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintf(r.stderr, "rush: %s has no GET /api/v1/outbox/counts: the outbox's backlog is not measured\n", r.opt.addr)
		return nil
	}
	r.outboxWatch, r.outboxTotal = true, rushTotal(counts)
	r.outboxRetrying = counts[engine.MessagePending] - counts[engine.OutboxDue]
	return nil
}

// drainOutbox reads the backlog a phase left and waits for it to drain,
// up to --drain-timeout, or until it stops shrinking for rushDrainStall.
func (r *rushRun) drainOutbox(name string, elapsed time.Duration) (*rushOutbox, error) {
	if !r.outboxWatch {
		return nil, nil
	}
	counts, _, err := r.rushOutboxCounts()
	if err != nil {
		return nil, err
	}
	ob := &rushOutbox{Written: rushTotal(counts) - r.outboxTotal, PendingAtEnd: counts[engine.MessagePending]}
	start := time.Now()
	due, shrank := counts[engine.OutboxDue], start
	if due > 0 {
		fmt.Fprintf(r.stderr, "rush: %s left %d e-mails due; waiting for the outbox to send them\n", name, due)
	}
	tick := time.NewTicker(rushDrainPoll)
	defer tick.Stop()
	for due > 0 && time.Since(start) < r.opt.drainTimeout && time.Since(shrank) < rushDrainStall {
		select {
		case <-r.ctx.Done():
			return nil, errRushInterrupted
		case <-tick.C:
		}
		if counts, _, err = r.rushOutboxCounts(); err != nil {
			return nil, err
		}
		if n := counts[engine.OutboxDue]; n < due {
			due, shrank = n, time.Now()
		}
	}
	drain := time.Since(start)
	if counts[engine.OutboxDue] == 0 && ob.PendingAtEnd == 0 {
		drain = 0
	}
	retrying := counts[engine.MessagePending] - counts[engine.OutboxDue]
	r.outboxTotal = rushTotal(counts)
	ob.Drained, ob.Left, ob.DrainS, ob.Retrying = due == 0, due, roundSeconds(drain), retrying
	ob.Sustained = ob.Drained && drain <= elapsed && retrying <= r.outboxRetrying
	r.outboxRetrying = retrying
	return ob, nil
}

// rushSink is the SMTP server of --smtp-sink: it accepts every e-mail and
// keeps none, counting them.
type rushSink struct {
	Addr       string `json:"addr"`
	Mails      int64  `json:"mails"`
	Recipients int64  `json:"recipients"`

	srv         *smtp.Server
	done        chan struct{}
	stop        sync.Once
	mails, rcpt atomic.Int64
}

// startRushSink listens on addr and serves until close.
func startRushSink(addr string) (*rushSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--smtp-sink: %w", err)
	}
	s := &rushSink{Addr: ln.Addr().String(), done: make(chan struct{})}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "rush-sink.invalid"
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.ErrorLog = rushQuiet{}
	go func() { defer close(s.done); _ = s.srv.Serve(ln) }()
	return s, nil
}

// close stops the sink, once, and keeps its counts for the report.
func (s *rushSink) close() {
	s.stop.Do(func() {
		s.srv.Close()
		<-s.done
		s.Mails, s.Recipients = s.mails.Load(), s.rcpt.Load()
	})
}

type rushQuiet struct{}

func (rushQuiet) Printf(string, ...any) {}
func (rushQuiet) Println(...any)        {}

// NewSession is one SMTP connection.
func (s *rushSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &rushSinkSession{s: s}, nil }

type rushSinkSession struct {
	s    *rushSink
	rcpt int64
}

func (ss *rushSinkSession) Mail(string, *smtp.MailOptions) error { ss.rcpt = 0; return nil }
func (ss *rushSinkSession) Rcpt(string, *smtp.RcptOptions) error { ss.rcpt++; return nil }

// Data reads the message to its end, as a real server does, and drops it.
func (ss *rushSinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.mails.Add(1)
	ss.s.rcpt.Add(ss.rcpt)
	return nil
}

func (ss *rushSinkSession) Reset()        { ss.rcpt = 0 }
func (ss *rushSinkSession) Logout() error { return nil }
