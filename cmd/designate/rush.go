package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"designate/engine"
)

// `designate rush` plays a deadline rush against a running server: N
// applicant cities, each played by one of C clients that owns it (no two
// clients race on one dossier's version), then a table of throughput and
// latency per operation. The phases, in order:
//
//   - setup: the admin makes N applicant accounts (bcrypt at the server's
//     cost makes this slow, so it runs concurrently and is not measured as
//     an operation);
//   - prepare: each city signs in, starts its draft and uploads the files
//     the call requires (login, create, upload);
//   - with --baseline, each for --duration: baseline_write (C clients post
//     a body the size of a submitted dossier to the bench write endpoint),
//     hello (C clients get the bench hello), status_one (C clients read
//     one dossier);
//   - mix, for --duration: every city repeats rushScript;
//   - with --storm, submit_storm for --duration: the deadline's last
//     minute, when nothing is edited any more and every client submits
//     (storm_submit), and, to submit again, retracts (storm_retract);
//   - with --lists, lists for --duration: every client, signed in as the
//     admin, pages through the call's dossiers under rushListFilters
//     (list), as the secretariat's board does.
//
// The baselines run on the same router, behind the same middleware, in the
// same run, so their ratios to the product's figures say what the product
// costs over the floor, whatever the machine.

// rushOp is an operation the report counts on its own.
type rushOp string

const (
	opLogin         rushOp = "login"
	opCreate        rushOp = "create"
	opUpload        rushOp = "upload"
	opSave          rushOp = "save"
	opSubmit        rushOp = "submit"
	opStatus        rushOp = "status"
	opRetract       rushOp = "retract"
	opBaselineWrite rushOp = "baseline_write"
	opHello         rushOp = "hello"
	opStatusOne     rushOp = "status_one"
	opStormSubmit   rushOp = "storm_submit"
	opStormRetract  rushOp = "storm_retract"
	opList          rushOp = "list"
)

// rushScript is one city's cycle in the mix, repeated until the run ends.
// Near a deadline a city saves its last edits in bursts (each save sends the
// whole draft, one section changed, as the editor does), glances at its
// dossier, submits, then reads its status several times (did it go
// through? the receipt?). The retraction (submitted → draft, allowed until
// the close) is what lets a bounded set of cities submit again and again;
// some real cities do retract to fix a mistake. Per cycle: 3 saves, 1
// submit, 4 status reads, 1 retract (5 writes, 4 reads).
var rushScript = []rushOp{opSave, opSave, opStatus, opSave, opSubmit, opStatus, opStatus, opStatus, opRetract}

// rushOptions are the command's flags.
type rushOptions struct {
	addr          string
	cities        int
	concurrency   int
	duration      time.Duration
	json          bool
	call          string
	adminEmail    string
	adminPassword string
	accounts      string
	baseline      bool
	storm         bool
	lists         bool
	ackLog        string
	// drainTimeout bounds the wait for the outbox after each phase; 0
	// does not measure it.
	drainTimeout time.Duration
	smtpSink     string
	// minimal sends the writes with Prefer: return=minimal.
	minimal bool
}

// parseRushFlags reads the flags, saying on stderr what is wrong.
func parseRushFlags(args []string, stderr io.Writer) (rushOptions, error) {
	var o rushOptions
	fs := flag.NewFlagSet("rush", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "", "the running server's URL, e.g. http://127.0.0.1:8080 (required)")
	fs.IntVar(&o.cities, "cities", 200, "applicant cities to play, each with its own account and dossier")
	fs.IntVar(&o.concurrency, "concurrency", 64, "concurrent clients; each plays its own cities")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long the mix (and each baseline) runs")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of the table")
	fs.StringVar(&o.call, "call", "", "the call to apply to (default: the first call open for submissions)")
	fs.StringVar(&o.adminEmail, "admin-email", "", "the admin account that makes the cities' accounts (or $DESIGNATE_RUSH_ADMIN_EMAIL)")
	fs.StringVar(&o.adminPassword, "admin-password", "", "its password (or $DESIGNATE_RUSH_ADMIN_PASSWORD)")
	fs.StringVar(&o.accounts, "accounts", "data/demo-accounts.txt", "without the two above: the demo's accounts file, to take the admin from")
	fs.BoolVar(&o.baseline, "baseline", false, "also measure the server's bench endpoints (bench.endpoints in its config.yaml)")
	fs.BoolVar(&o.storm, "storm", false, "after the mix, a submission storm: every client submits and retracts its cities' dossiers for --duration")
	fs.BoolVar(&o.lists, "lists", false, "after the mix (and storm), a list phase: every client pages through the call's dossiers with filters, as the admin")
	fs.StringVar(&o.ackLog, "ack-log", "", "append a JSON line per acknowledged write (app, op, state, version) to this file")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 2*time.Minute, "after each phase, wait at most this long for the outbox to send the phase's e-mails (0: do not measure the outbox)")
	fs.BoolVar(&o.minimal, "return-minimal", true, "send each write with Prefer: return=minimal, as a client that reads only id, state and version should (false: every write answers the whole dossier)")
	fs.StringVar(&o.smtpSink, "smtp-sink", "", "listen on this address (e.g. 127.0.0.1:2525) as an SMTP server that takes every e-mail and keeps none; point the server's mail.smtp at it")
	if err := fs.Parse(args); err != nil {
		return o, errUsage
	}
	// From the environment only now, so the usage never prints a password
	// as a flag's default.
	if o.adminEmail == "" && o.adminPassword == "" {
		o.adminEmail, o.adminPassword = os.Getenv("DESIGNATE_RUSH_ADMIN_EMAIL"), os.Getenv("DESIGNATE_RUSH_ADMIN_PASSWORD")
	}
	bad := func(format string, args ...any) (rushOptions, error) {
		fmt.Fprintf(stderr, "designate rush: "+format+"\n", args...)
		fs.Usage()
		return o, errUsage
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case o.addr == "":
		return bad("--addr is required: the URL of a running server, e.g. http://127.0.0.1:8080")
	case o.cities < 1:
		return bad("--cities must be at least 1, not %d", o.cities)
	case o.concurrency < 1:
		return bad("--concurrency must be at least 1, not %d", o.concurrency)
	case o.concurrency > o.cities:
		return bad("--concurrency (%d) must not exceed --cities (%d): each client plays its own cities", o.concurrency, o.cities)
	case o.duration <= 0:
		return bad("--duration must be positive, not %s", o.duration)
	case o.drainTimeout < 0:
		return bad("--drain-timeout must not be negative, not %s", o.drainTimeout)
	case (o.adminEmail == "") != (o.adminPassword == ""):
		return bad("give both --admin-email and --admin-password, or neither (to read --accounts)")
	}
	u, err := url.Parse(o.addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("--addr must be an http:// or https:// URL with a host, not %q", o.addr)
	}
	o.addr = strings.TrimRight(o.addr, "/")
	return o, nil
}

// runRush is `designate rush`.
func runRush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opt, err := parseRushFlags(args, stderr)
	if err != nil {
		return err
	}
	r := newRushRun(ctx, opt, stderr)
	defer r.client.CloseIdleConnections()
	if opt.smtpSink != "" {
		sink, err := startRushSink(opt.smtpSink)
		if err != nil {
			return err
		}
		defer sink.close()
		r.sink = sink
	}
	if opt.ackLog != "" {
		if r.ack, err = openRushAckLog(opt.ackLog); err != nil {
			return err
		}
	}
	err = r.play()
	r.ack.close()
	if r.sink != nil {
		r.sink.close()
		r.report.SMTPSink = r.sink
	}
	if errors.Is(err, errRushInterrupted) {
		r.report.Interrupted = true
		err = nil
	}
	if err != nil {
		return fmt.Errorf("rush: %w", err)
	}
	if ackErr := r.ack.err(); ackErr != nil {
		return fmt.Errorf("rush: ack log: %w", ackErr)
	}
	r.finishReport()
	if opt.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r.report)
	}
	r.report.writeTable(stdout)
	return nil
}

// errRushInterrupted ends the run early (Ctrl-C); what was measured is
// still reported.
var errRushInterrupted = errors.New("interrupted")

// rushRun is one run: its client, the call, the cities and what was
// measured.
type rushRun struct {
	opt    rushOptions
	ctx    context.Context
	client *http.Client
	// reqCtx is never cancelled by Ctrl-C, so a request in flight finishes
	// and is counted instead of showing up as a transport error.
	reqCtx context.Context
	stderr io.Writer
	tty    bool
	call   engine.Call
	prefix string
	cities []*rushCity
	ack    *rushAckLog
	// writeBody is a submitted dossier's record, as the store writes it:
	// what the baseline write posts.
	writeBody []byte

	live struct{ ops, errors atomic.Uint64 }

	samplesMu sync.Mutex
	samples   []string

	report rushReport
	// admin is the admin's session, for the list phase and the outbox's
	// counts.
	admin string
	// outboxWatch says the outbox is followed after each phase;
	// outboxTotal is how many messages it held after the last.
	outboxWatch bool
	outboxTotal int
	// outboxRetrying is how many pending messages waited for a retry
	// after the last phase.
	outboxRetrying int
	sink           *rushSink
}

// rushSamples is how many failures the report quotes.
const rushSamples = 5

func newRushRun(ctx context.Context, opt rushOptions, stderr io.Writer) *rushRun {
	// Every client keeps its connection: with fewer idle connections than
	// clients, the churn of new ones would be what the run measures.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * opt.concurrency
	tr.MaxIdleConnsPerHost = 2 * opt.concurrency
	tr.DisableCompression = true
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	r := &rushRun{
		opt: opt, ctx: ctx, reqCtx: context.WithoutCancel(ctx), stderr: stderr, tty: isTerminal(stderr),
		client: &http.Client{Transport: tr, Timeout: 60 * time.Second},
		prefix: "rush-" + randomPassword()[:6],
	}
	r.report.Params = rushParams{Addr: opt.addr, Prefix: r.prefix, Cities: opt.cities, Concurrency: opt.concurrency,
		Duration: opt.duration.String(), DurationS: opt.duration.Seconds(), Baseline: opt.baseline, Mix: rushScript}
	return r
}

// play runs the phases in order.
func (r *rushRun) play() error {
	if r.opt.baseline {
		if err := r.probeBench(); err != nil {
			return err
		}
	}
	if err := r.chooseCall(); err != nil {
		return err
	}
	admin, err := r.adminToken()
	if err != nil {
		return err
	}
	r.admin = admin
	if err := r.makeAccounts(admin); err != nil {
		return err
	}
	if err := r.interrupted(); err != nil {
		return err
	}
	if err := r.startOutboxWatch(); err != nil {
		return err
	}
	if err := r.addPhase(r.runPhase("prepare", 0, len(r.cities), r.prepareWorker)); err != nil {
		return err
	}
	if err := r.interrupted(); err != nil {
		return err
	}
	if r.opt.baseline {
		if err := r.measureWriteSize(); err != nil {
			return err
		}
		for _, b := range []struct {
			name string
			work func(int, rushRecorder, *rushPhase)
		}{{"baseline_write", r.baselineWriteWorker}, {"hello", r.helloWorker}, {"status_one", r.statusOneWorker}} {
			if err := r.addPhase(r.runPhase(b.name, r.opt.duration, 0, b.work)); err != nil {
				return err
			}
			if err := r.interrupted(); err != nil {
				return err
			}
		}
	}
	if err := r.addPhase(r.runPhase("mix", r.opt.duration, 0, r.mixWorker)); err != nil {
		return err
	}
	if r.opt.storm {
		if err := r.interrupted(); err != nil {
			return err
		}
		if err := r.addPhase(r.runPhase("submit_storm", r.opt.duration, 0, r.stormWorker)); err != nil {
			return err
		}
	}
	if r.opt.lists {
		if err := r.interrupted(); err != nil {
			return err
		}
		if err := r.addPhase(r.runPhase("lists", r.opt.duration, 0, r.listWorker)); err != nil {
			return err
		}
	}
	return r.interrupted()
}

func (r *rushRun) interrupted() error {
	if r.ctx.Err() != nil {
		return errRushInterrupted
	}
	return nil
}

// probeBench fails unless the server has the bench endpoints.
func (r *rushRun) probeBench() error {
	status, raw, _, err := r.do(http.MethodGet, "/api/v1/bench/hello", "", "", nil)
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return fmt.Errorf("%s has no bench endpoints (GET /api/v1/bench/hello: 404): set bench.endpoints: true in the server's config.yaml and restart it, or run without --baseline", r.opt.addr)
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET /api/v1/bench/hello: status %d: %s", status, rushClip(raw))
	}
	return nil
}

// chooseCall takes --call, or the first call open for submissions.
func (r *rushRun) chooseCall() error {
	var list struct{ Items []engine.Call }
	if err := r.getJSON("/api/v1/calls", "", &list); err != nil {
		return err
	}
	for _, c := range list.Items {
		if (r.opt.call == "" && c.State == engine.CallOpen) || c.ID == r.opt.call {
			r.call = c
			break
		}
	}
	switch {
	case r.call.ID == "" && r.opt.call != "":
		return fmt.Errorf("%s has no call %q", r.opt.addr, r.opt.call)
	case r.call.ID == "":
		return fmt.Errorf("%s has no call open for submissions: give one with --call", r.opt.addr)
	case r.call.State != engine.CallOpen:
		return fmt.Errorf("call %s is %s, not open for submissions", r.call.ID, r.call.State)
	case len(r.call.Fields) == 0 || len(r.call.Languages) == 0:
		return fmt.Errorf("call %s has no fields or no languages", r.call.ID)
	}
	r.report.Params.Call = r.call.ID
	return nil
}

// adminToken signs the admin in: --admin-email and --admin-password (or
// their environment variables), else the admin line of the accounts file.
func (r *rushRun) adminToken() (string, error) {
	email, password := r.opt.adminEmail, r.opt.adminPassword
	if email == "" {
		var err error
		if email, password, err = rushAdminFromFile(r.opt.accounts); err != nil {
			return "", err
		}
	}
	var res struct{ Token string }
	if err := r.postJSON("/api/v1/login", "", map[string]string{"email": email, "password": password}, &res); err != nil {
		return "", fmt.Errorf("sign in as %s: %w", email, err)
	}
	return res.Token, nil
}

// rushAdminFromFile reads the admin's e-mail and password from the demo's
// accounts file (ROLE E-MAIL PASSWORD ..., a line each).
func rushAdminFromFile(path string) (string, string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("no admin credentials: give --admin-email and --admin-password (or DESIGNATE_RUSH_ADMIN_EMAIL and DESIGNATE_RUSH_ADMIN_PASSWORD), or --accounts with the demo's accounts file: %w", err)
	}
	for line := range strings.Lines(string(raw)) {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == string(engine.RoleAdmin) {
			return f[1], f[2], nil
		}
	}
	return "", "", fmt.Errorf("%s has no admin account line", path)
}

// makeAccounts makes the cities' applicant accounts, concurrently.
func (r *rushRun) makeAccounts(admin string) error {
	r.cities = make([]*rushCity, r.opt.cities)
	for i := range r.cities {
		r.cities[i] = newRushCity(r, i)
	}
	var (
		once     sync.Once
		firstErr error
	)
	res := r.runPhase("accounts", 0, len(r.cities), func(w int, rec rushRecorder, p *rushPhase) {
		for i := w; i < len(r.cities) && !p.over(); i += r.opt.concurrency {
			c := r.cities[i]
			body := map[string]string{"email": c.email, "password": c.password, "role": string(engine.RoleApplicant),
				"country": c.country, "city": c.name, "language": c.language}
			if err := r.postJSON("/api/v1/users", admin, body, nil); err != nil {
				once.Do(func() { firstErr = fmt.Errorf("make the account of %s: %w", c.name, err) })
				return
			}
			p.done.Add(1)
		}
	})
	r.report.Setup = rushSetup{Accounts: len(r.cities), Seconds: roundSeconds(res.elapsed)}
	return firstErr
}

// measureWriteSize builds the record a submit writes for the first city
// (its dossier as stored, with the text the mix saves and the submission's
// fields), which the baseline write posts.
func (r *rushRun) measureWriteSize() error {
	c := r.liveCity()
	if c == nil {
		return errors.New("no city could prepare its dossier")
	}
	var app engine.Application
	if err := r.getJSON("/api/v1/applications/"+c.id, c.token, &app); err != nil {
		return err
	}
	now := time.Now()
	app.Contacts, app.Sections = c.contacts(), c.sections()
	app.State, app.Version, app.SubmittedAt = engine.Submitted, app.Version+4, &now
	app.SubmissionDigest = strings.Repeat("0", 64)
	raw, err := json.Marshal(&app)
	if err != nil {
		return err
	}
	r.writeBody = raw
	r.report.Params.WriteBytes = len(raw)
	return nil
}

// liveCity is the first city whose dossier is ready.
func (r *rushRun) liveCity() *rushCity {
	for _, c := range r.cities {
		if c.id != "" && !c.retired {
			return c
		}
	}
	return nil
}

// baselineWriteWorker posts the submitted record's bytes to the bench
// write endpoint, under the keys of its own cities, so the bucket holds as
// many records as there are dossiers.
func (r *rushRun) baselineWriteWorker(w int, rec rushRecorder, p *rushPhase) {
	for i := 0; p.more(i); i++ {
		key := fmt.Sprintf("%s-%04d", r.prefix, w+(i%r.citiesOf(w))*r.opt.concurrency)
		r.send(rec, rushRequest{op: opBaselineWrite, method: http.MethodPost, path: "/api/v1/bench/write?key=" + key,
			contentType: "application/json", body: r.writeBody})
	}
}

// citiesOf is how many cities worker w plays.
func (r *rushRun) citiesOf(w int) int {
	return (r.opt.cities - w + r.opt.concurrency - 1) / r.opt.concurrency
}

// helloWorker gets the bench hello: the router and middleware alone.
func (r *rushRun) helloWorker(_ int, rec rushRecorder, p *rushPhase) {
	for i := 0; p.more(i); i++ {
		r.send(rec, rushRequest{op: opHello, method: http.MethodGet, path: "/api/v1/bench/hello"})
	}
}

// statusOneWorker reads one city's dossier, as that city: every client the
// same one.
func (r *rushRun) statusOneWorker(_ int, rec rushRecorder, p *rushPhase) {
	c := r.liveCity()
	for i := 0; c != nil && p.more(i); i++ {
		r.send(rec, rushRequest{op: opStatusOne, method: http.MethodGet, path: "/api/v1/applications/" + c.id, token: c.token})
	}
}

// rushListFilters are the lists the list phase asks for, in turn: the
// call's dossiers by state, country, field and their combinations, as the
// secretariat filters its board. {country} and {field} take the next of
// rushCountries and of the call's fields.
var rushListFilters = []string{
	"", "state=submitted", "country={country}", "field={field}", "state=submitted&field={field}",
	"country={country}&field={field}", "state=endorsed", "state=draft",
}

// listWorker pages through filtered lists: each filter's first page, then
// the page after it when there is one, as someone scrolling the board.
func (r *rushRun) listWorker(w int, rec rushRecorder, p *rushPhase) {
	var next string
	var query string
	for i := 0; p.more(i); i++ {
		if next == "" {
			f := rushListFilters[(w+i)%len(rushListFilters)]
			f = strings.ReplaceAll(f, "{country}", rushCountries[(w+i)%len(rushCountries)])
			f = strings.ReplaceAll(f, "{field}", url.QueryEscape(r.call.Fields[(w+i)%len(r.call.Fields)]))
			query = "call=" + url.QueryEscape(r.call.ID) + "&limit=50"
			if f != "" {
				query += "&" + f
			}
		}
		path := "/api/v1/applications?" + query
		if next != "" {
			path += "&cursor=" + url.QueryEscape(next)
		}
		raw, ok := r.send(rec, rushRequest{op: opList, method: http.MethodGet, path: path, token: r.admin})
		if !ok || next != "" {
			next = "" // two pages of a filter at the most
			continue
		}
		next = nextCursor(raw)
	}
}

// nextCursor reads a page's next_cursor without decoding its items: the
// API writes it after them.
func nextCursor(page []byte) string {
	key := []byte(`"next_cursor":`)
	i := bytes.LastIndex(page, key)
	if i < 0 {
		return ""
	}
	var next string
	if json.NewDecoder(bytes.NewReader(page[i+len(key):])).Decode(&next) != nil {
		return ""
	}
	return next
}
