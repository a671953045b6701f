package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"designate/store"
)

// passwordEnv holds the admin's password for a backup through the server.
const passwordEnv = "DESIGNATE_PASSWORD"

// backupStall is how long the download may receive nothing before the
// command gives up on the server (which gives up on a silent client after
// the same minute).
const backupStall = time.Minute

// hotBackup is `designate backup` while the server runs: the server writes
// the archive from one read transaction while it goes on serving, and this
// command keeps it only once it has read it back whole.
type hotBackup struct {
	addr, config        string
	email, passwordFile string
}

// run signs in as the admin, fetches the backup into out, and signs out.
func (h hotBackup) run(ctx context.Context, out string, stdout io.Writer) error {
	if h.email == "" {
		return fmt.Errorf("backup: the server is running (it holds the database): give --email of an admin account, "+
			"with its password in %s or --password-file, to back up through it; or stop the server", passwordEnv)
	}
	password, err := h.password()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	base, err := serverURL(h.addr, h.config)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	c := newServerClient(base)
	if err := c.login(ctx, h.email, password); err != nil {
		return fmt.Errorf("backup: sign in to %s: %w", base, err)
	}
	defer c.logout()
	m, size, err := c.fetchBackup(ctx, out)
	if err != nil {
		return fmt.Errorf("backup from %s: %w", base, err)
	}
	fmt.Fprintf(stdout, "backed up the running server at %s to %s (%d bytes: the database and %d files)\n", base, out, size, m.Files)
	return nil
}

// password is the admin's password, from --password-file or the environment.
func (h hotBackup) password() (string, error) {
	if h.passwordFile != "" {
		raw, err := os.ReadFile(h.passwordFile)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		if p := strings.TrimRight(string(raw), "\r\n"); p != "" {
			return p, nil
		}
		return "", fmt.Errorf("--password-file %s is empty", h.passwordFile)
	}
	if p := os.Getenv(passwordEnv); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("the admin's password is needed: set %s or give --password-file", passwordEnv)
}

// serverURL is where the running server answers: addr (a URL, or HOST:PORT
// as config.yaml writes it), else the configuration's addr, else the
// default one.
func serverURL(addr, configPath string) (string, error) {
	if addr == "" {
		cfg := DefaultConfig()
		if configPath != "" {
			var err error
			if cfg, err = LoadConfig(configPath); err != nil {
				return "", err
			}
		}
		addr = cfg.Addr
	}
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("--addr %q: want http://HOST:PORT, https://HOST:PORT or HOST:PORT", addr)
		}
		return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: want http://HOST:PORT, https://HOST:PORT or HOST:PORT", addr)
	}
	// A server listening on every interface answers on this machine's own.
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// serverClient talks to the running server's API.
type serverClient struct {
	base  string
	http  *http.Client
	token string
}

func newServerClient(base string) *serverClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = backupStall
	return &serverClient{base: base, http: &http.Client{Transport: t}}
}

func (c *serverClient) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.http.Do(req)
}

// login signs in and keeps the session's token.
func (c *serverClient) login(ctx context.Context, email, password string) error {
	resp, err := c.request(ctx, http.MethodPost, "/api/v1/login", map[string]string{"email": email, "password": password})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return refusal(resp)
	}
	var res struct{ Token string }
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res); err != nil || res.Token == "" {
		return fmt.Errorf("%s did not answer as designate does (no token): %v", c.base, err)
	}
	c.token = res.Token
	return nil
}

// logout ends the session, so its token is worth nothing once the backup
// is done; the server ends it anyway when it expires.
func (c *serverClient) logout() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if resp, err := c.request(ctx, http.MethodPost, "/api/v1/logout", nil); err == nil {
		resp.Body.Close()
	}
}

// fetchBackup downloads the backup to out through out.tmp: written,
// synced, then read back whole (every entry's digest, and the manifest
// that ends a complete backup, matching what came before it), and only
// then renamed into place. A failure, a download cut short included,
// leaves nothing at out.tmp and out as it was. Returns the manifest and the
// archive's size.
func (c *serverClient) fetchBackup(ctx context.Context, out string) (m store.BackupManifest, size int64, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, err := c.request(ctx, http.MethodGet, "/api/v1/admin/backup", nil)
	if err != nil {
		return m, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, 0, refusal(resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/x-tar" {
		return m, 0, fmt.Errorf("the answer is %q, not a backup (application/x-tar)", resp.Header.Get("Content-Type"))
	}

	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return m, 0, err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	body := &stallReader{r: resp.Body, stall: backupStall, cancel: cancel}
	size, err = io.Copy(f, body)
	body.stop()
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
		err = fmt.Errorf("the download was cut short after %d bytes: %w", size, err)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return m, 0, err
	}
	if m, err = verifyBackupFile(tmp); err != nil {
		return m, 0, err
	}
	if err = os.Rename(tmp, out); err != nil {
		return m, 0, err
	}
	return m, size, syncDir(filepath.Dir(out))
}

// verifyBackupFile reads a backup file back whole.
func verifyBackupFile(name string) (store.BackupManifest, error) {
	f, err := os.Open(name)
	if err != nil {
		return store.BackupManifest{}, err
	}
	defer f.Close()
	return store.VerifyBackup(bufio.NewReaderSize(f, 1<<20))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// refusal is the server's error answer as an error: its message, for the
// person running the command.
func refusal(resp *http.Response) error {
	var body struct {
		Error struct{ Code, Message string }
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &body) == nil && body.Error.Message != "" {
		return fmt.Errorf("%s (%d %s)", body.Error.Message, resp.StatusCode, body.Error.Code)
	}
	return fmt.Errorf("status %s", resp.Status)
}

// errStalled ends a download that received nothing for too long.
var errStalled = errors.New("the server sent nothing for too long")

// stallReader cancels the download when a read waits longer than stall: the
// client's timeout cannot bound a whole backup, only the silence within it.
type stallReader struct {
	r      io.Reader
	stall  time.Duration
	cancel context.CancelCauseFunc
	timer  *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.timer == nil {
		s.timer = time.AfterFunc(s.stall, func() { s.cancel(errStalled) })
	} else {
		s.timer.Reset(s.stall)
	}
	return s.r.Read(p)
}

func (s *stallReader) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
}
