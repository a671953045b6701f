package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"designate/engine"
	"designate/store"
	"designate/web"
)

// Main is the running program: open it with Run, stop it with Close. Tests
// start it in-process on 127.0.0.1:0 with a temporary data directory.
type Main struct {
	Config Config
	// Clock is the engine's clock; the system clock unless a test moves one.
	Clock engine.Clock
	// Out receives what a person starting the server must read (the demo
	// accounts, the address).
	Out    io.Writer
	Logger *slog.Logger
	// PasswordCost overrides the engine's bcrypt cost when not 0; tests
	// lower it so that making accounts stays fast.
	PasswordCost int

	DB      *store.DB
	Files   *store.Files
	Service *engine.Service

	listener  net.Listener
	server    *http.Server
	stop      context.CancelFunc
	stopAudit context.CancelFunc
	auditDone chan struct{}
	wg        sync.WaitGroup
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig(), Clock: engine.SystemClock{}, Out: io.Discard, Logger: slog.New(slog.DiscardHandler)}
}

// dbFile is the database inside the data directory.
func dbFile(dataDir string) string { return filepath.Join(dataDir, "designate.db") }

// filesDir holds the attachments' content inside the data directory.
func filesDir(dataDir string) string { return filepath.Join(dataDir, "files") }

// Run opens the database (creating it and the demo on first start), starts
// the scheduler and starts serving. It returns once the server listens.
func (m *Main) Run(ctx context.Context) error {
	if err := os.MkdirAll(m.Config.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	db, err := store.Open(dbFile(m.Config.Data), store.Options{Logger: m.Logger})
	if err != nil {
		return err
	}
	m.DB = db
	files, err := store.OpenFiles(filesDir(m.Config.Data))
	if err != nil {
		db.Close()
		return err
	}
	m.Files = files
	clock := m.Clock
	if m.Config.Demo.Enabled && m.Config.Demo.TimeTravel {
		dc, err := openDemoClock(m.Config.Data, m.Clock)
		if err != nil {
			m.closeStores()
			return fmt.Errorf("demo clock: %w", err)
		}
		clock = dc
	}
	m.Service = engine.NewService(db, clock)
	m.Service.Files = withFailpoints(files)
	m.Service.Backups = store.Backup{DB: db, Files: files}
	m.Service.SessionTTL = m.Config.SessionTTL
	m.Service.SessionIdle = m.Config.SessionIdle
	m.Service.SweepChunk = m.Config.SweepChunk
	if m.PasswordCost != 0 {
		m.Service.PasswordCost = m.PasswordCost
	}
	if err := m.seedDemo(ctx); err != nil {
		m.closeStores()
		return fmt.Errorf("demo data: %w", err)
	}
	// No upload is in flight before the server listens, so every file no
	// record names is one a crash left between keeping it and committing.
	if err := m.Files.ClearStaging(); err != nil {
		m.closeStores()
		return fmt.Errorf("clear staged uploads: %w", err)
	}
	swept, err := m.Service.SweepFiles(ctx)
	if err != nil {
		m.closeStores()
		return fmt.Errorf("sweep files: %w", err)
	}
	if len(swept) > 0 {
		m.Logger.Warn("removed files no dossier names (left by an interrupted upload)", "count", len(swept))
	}

	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		m.closeStores()
		return err
	}
	m.listener = ln
	handler, err := web.NewServer(m.Service, m.Logger)
	if err != nil {
		ln.Close()
		m.closeStores()
		return err
	}
	if m.Config.Bench.Endpoints {
		m.Logger.Warn("bench endpoints are on (bench.endpoints): unauthenticated writes, not for production")
		handler.EnableBench(m.DB)
	}
	m.server = web.HTTPServer(m.Config.Addr, handler, m.Logger)

	// The scheduler and the audit writer run until Close; the audit writer
	// stops last, once no request can record anything more.
	schedCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	auditCtx, stopAudit := context.WithCancel(context.WithoutCancel(ctx))
	m.stop, m.stopAudit = stop, stopAudit
	sched := &engine.Scheduler{Service: m.Service, Clock: clock, Every: m.Config.SchedulerEvery, Logger: m.Logger}
	mailer, err := m.mailer()
	if err != nil {
		ln.Close()
		m.closeStores()
		stop()
		stopAudit()
		return err
	}
	if m.Config.Mail.Deliver {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.Service.RunOutbox(schedCtx, mailer, m.Config.Mail.Every, m.Logger)
			mailer.Close() // the SMTP sessions kept between copies
		}()
	}
	m.wg.Add(2)
	m.auditDone = make(chan struct{})
	go func() { defer close(m.auditDone); m.Service.RunAudit(auditCtx, m.Logger) }()
	go func() { defer m.wg.Done(); sched.Run(schedCtx) }()
	go func() {
		defer m.wg.Done()
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("server stopped", "err", err)
		}
	}()
	return nil
}

// URL is where the server answers.
func (m *Main) URL() string {
	addr := m.listener.Addr().String()
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "::" || host == "0.0.0.0" || host == "") {
		addr = net.JoinHostPort("localhost", port)
	}
	return "http://" + addr
}

// Close stops taking requests, lets those in flight finish (up to 30s),
// stops the scheduler and closes the database. Everything acknowledged is on
// disk already; Close only lets the last answers go out.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, m.server.Shutdown(ctx))
		cancel()
	}
	if m.stop != nil {
		m.stop()
	}
	m.wg.Wait()
	if m.stopAudit != nil {
		m.stopAudit()
		<-m.auditDone
	}
	errs = append(errs, m.closeStores())
	return errors.Join(errs...)
}

func (m *Main) closeStores() error {
	var errs []error
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	if m.Files != nil {
		errs = append(errs, m.Files.Close())
	}
	return errors.Join(errs...)
}

// runServe is `designate serve`.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "configuration file")
	data := fs.String("data", "", "data directory (overrides the config)")
	addr := fs.String("addr", "", "listen address HOST:PORT (overrides the config)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.Data = *data
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	m := NewMain()
	m.Config, m.Out = cfg, stdout
	m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel(cfg.LogLevel)}))
	if err := m.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "designate is serving on %s (data in %s). Ctrl-C stops it.\n", m.URL(), cfg.Data)
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "designate: stopping; finishing requests in flight")
		return m.Close()
	case err := <-m.DB.Fatal():
		// The database takes no write any more (each is answered
		// "unavailable"); stop so that a supervisor restarts the server on
		// what is really on disk, rather than serve what may not be.
		m.Logger.Error("a commit failed: stopping; restart the server to read what is on disk", "err", err)
		fmt.Fprintln(stdout, "designate: a write could not be made durable; stopping")
		return errors.Join(fmt.Errorf("stopped after a failed commit: %w", err), m.Close())
	}
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// mailer is the outbox's way out, from the configuration.
func (m *Main) mailer() (*web.Mailer, error) {
	mc := m.Config.Mail
	password := mc.SMTP.Password
	if strings.HasPrefix(password, "$") {
		password = os.Getenv(password[1:])
	}
	ml, err := web.NewMailer(web.MailConfig{From: mc.From, Domain: mc.Domain, Host: mc.SMTP.Host, Port: mc.SMTP.Port,
		StartTLS: mc.SMTP.StartTLS, Username: mc.SMTP.Username, Password: password, Dir: filepath.Join(m.Config.Data, "mail")})
	if err != nil {
		return nil, err
	}
	ml.Now = m.Service.Now
	return ml, nil
}
