//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// How long the crash test waits for a process to do what it must: generous,
// since a loaded CI machine is slow, but finite, so a hang fails the test.
const durProcTimeout = 2 * time.Minute

// buildFailpointBinary compiles the real command with the failpoints build
// tag, from the module root, into a temporary directory.
func buildFailpointBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "designate")
	cmd := exec.Command("go", "build", "-tags", "failpoints", "-o", bin, "./cmd/designate")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags failpoints: %v\n%s", err, out)
	}
	return bin
}

// runDesignateBinary runs a sub-command of the binary to its end and returns what it
// printed and its exit code.
func runDesignateBinary(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), durProcTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = durWithoutFailpoint(os.Environ())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit) && ctx.Err() == nil:
		return string(out), exit.ExitCode()
	}
	t.Fatalf("designate %s: %v\n%s", strings.Join(args, " "), err, out)
	return "", 0
}

func durWithoutFailpoint(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DESIGNATE_FAILPOINT=") {
			out = append(out, kv)
		}
	}
	return out
}

// procOutput collects a process's output while it runs.
type procOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
	// url receives the address once the server prints that it serves.
	url  chan string
	sent bool
}

func (b *procOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.url != nil && !b.sent {
		const prefix = "designate is serving on "
		text := b.buf.String()
		if i := strings.Index(text, prefix); i >= 0 {
			if line, _, whole := strings.Cut(text[i+len(prefix):], "\n"); whole {
				url, _, _ := strings.Cut(line, " ")
				b.url <- url
				b.sent = true
			}
		}
	}
	return len(p), nil
}

func (b *procOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverProc is the real binary serving, as a separate process.
type serverProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	URL    string
	stdout *procOutput
	stderr *procOutput
	done   chan struct{} // closed once the process has exited and its output is read
	client *http.Client
}

// startServerProc starts `designate serve` on data with the config file and
// the extra environment, and returns once it says where it serves.
func startServerProc(t *testing.T, bin, config, data string, env ...string) *serverProc {
	t.Helper()
	return startServerProcUnder(t, nil, bin, config, data, env...)
}

// startServerProcUnder is startServerProc with the server run by a
// wrapper command (strace), given as its command line before the binary.
func startServerProcUnder(t *testing.T, wrapper []string, bin, config, data string, env ...string) *serverProc {
	t.Helper()
	args := append(slices.Clone(wrapper), bin, "serve", "--config", config, "--data", data, "--addr", "127.0.0.1:0")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(durWithoutFailpoint(os.Environ()), env...)
	p := &serverProc{t: t, cmd: cmd, stdout: &procOutput{url: make(chan string, 1)}, stderr: &procOutput{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if wrapper != nil {
		// Killing the wrapper alone would leave the server running,
		// detached, with the test's pipes: the group goes together.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	startProc(t, cmd, p.done)
	if wrapper != nil {
		t.Cleanup(func() {
			select {
			case <-p.done:
			default:
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		})
	}
	select {
	case p.URL = <-p.stdout.url:
	case <-p.done:
		t.Fatalf("the server exited (%v) before serving\nstdout:\n%s\nstderr:\n%s", cmd.ProcessState, p.stdout, p.stderr)
	case <-time.After(durProcTimeout):
		t.Fatalf("the server did not say where it serves within %v\nstdout:\n%s\nstderr:\n%s", durProcTimeout, p.stdout, p.stderr)
	}
	// A fresh connection per request: none outlives the process.
	p.client = &http.Client{Timeout: durProcTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	return p
}

// startProc starts cmd and closes done once it has exited (its output
// read); a process the test did not stop by itself is killed at the end.
func startProc(t *testing.T, cmd *exec.Cmd, done chan struct{}) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait() // the exit is read from cmd.ProcessState
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

// wait waits for the process to exit and returns how it did.
func (p *serverProc) wait() *os.ProcessState {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState
	case <-time.After(durProcTimeout):
		p.t.Fatalf("the server did not exit within %v\nstdout:\n%s\nstderr:\n%s", durProcTimeout, p.stdout, p.stderr)
		return nil
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serverProc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	if ps := p.wait(); !ps.Success() {
		p.t.Fatalf("the server exited with %v after SIGTERM\nstdout:\n%s\nstderr:\n%s", ps, p.stdout, p.stderr)
	}
}

// do sends a JSON request and returns the status and body; a transport
// error fails the test.
func (p *serverProc) do(method, path, token string, body any) (int, []byte) {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			p.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, p.URL+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v\nstderr:\n%s", method, path, err, p.stderr)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// must is do, failing unless the status is want; it decodes into out.
func (p *serverProc) must(want int, method, path, token string, body, out any) []byte {
	p.t.Helper()
	status, raw := p.do(method, path, token, body)
	if status != want {
		p.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return raw
}

func (p *serverProc) login(email, password string) string {
	p.t.Helper()
	var res struct{ Token string }
	p.must(200, "POST", "/api/v1/login", "", map[string]string{"email": email, "password": password}, &res)
	return res.Token
}

// A crash between keeping an upload's file and committing its record (the
// real binary killed by SIGKILL at that point) acknowledges nothing, loses
// nothing acknowledged before, and leaves exactly one file no dossier names:
// `designate check` names it, the next start removes it before serving, and
// the data is sound after.
func TestCrash_BetweenFileAndCommit(t *testing.T) {
	bin := buildFailpointBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, []byte("log_level: info\ndemo:\n  enabled: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const adminEmail, adminPassword = "admin@example.org", "crash test admin password"
	const cityEmail, cityPassword = "lyon@example.org", "crash test city password"
	if out, code := runDesignateBinary(t, bin, "user", "add", "--data", data, "--email", adminEmail, "--password", adminPassword, "--role", "admin"); code != 0 {
		t.Fatalf("user add: exit %d\n%s", code, out)
	}

	// A first run: a call open now (the process has the real clock), a city,
	// its draft with one file, acknowledged.
	srv := startServerProc(t, bin, config, data)
	admin := srv.login(adminEmail, adminPassword)
	call := durCallOpenNow("crash-2027")
	var created struct{ State string }
	srv.must(201, "POST", "/api/v1/calls", admin, call, &created)
	if created.State != "open" {
		t.Fatalf("the call is %s, want open", created.State)
	}
	srv.must(201, "POST", "/api/v1/users", admin, map[string]string{
		"email": cityEmail, "password": cityPassword, "role": "applicant", "country": "FR", "city": "Lyon"}, nil)
	city := srv.login(cityEmail, cityPassword)
	var draft durDossier
	srv.must(201, "POST", "/api/v1/calls/crash-2027/applications", city,
		map[string]string{"city": "Lyon", "country": "FR", "field": "Film", "language": "en"}, &draft)
	first := demoPDF("Lyon", "Letter from the Mayor", "acknowledged before the crash")
	second := demoPDF("Lyon", "Annex", "kept, then the crash, never recorded")
	firstDigest, secondDigest := durDigest(first), durDigest(second)
	saved := durUpload(t, srv.client, srv.URL, city, draft.ID, "letter", "letter.pdf", first)
	if saved.Version != draft.Version+1 || len(saved.Attachments) != 1 {
		t.Fatalf("after the first upload the dossier is v%d with %d files, want v%d with 1", saved.Version, len(saved.Attachments), draft.Version+1)
	}
	dossierPath := "/api/v1/applications/" + draft.ID
	before := srv.must(200, "GET", dossierPath, city, nil, nil)
	listBefore := srv.must(200, "GET", dossierPath+"/attachments", city, nil, nil)
	srv.stop()

	// The second run dies right after keeping the second file: the upload
	// gets no answer at all, and the process is killed, not stopped.
	srv = startServerProc(t, bin, config, data, "DESIGNATE_FAILPOINT=after-keep")
	city = srv.login(cityEmail, cityPassword)
	if got := srv.must(200, "GET", dossierPath, city, nil, nil); !bytes.Equal(got, before) {
		t.Fatalf("a restart changed the dossier:\nbefore %s\nafter  %s", before, got)
	}
	resp, err := srv.client.Do(durUploadRequest(t, srv.URL, city, draft.ID, "annex", "annex.pdf", second))
	if err == nil {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("the upload that crashed the server was answered: status %d, body %s", resp.StatusCode, raw)
	}
	t.Logf("the interrupted upload failed as a client sees it: %v", err)
	ps := srv.wait()
	if ws, ok := ps.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the server ended with %v, want killed by SIGKILL at the failpoint\nstderr:\n%s", ps, srv.stderr)
	}

	// On disk: the second file, kept whole under its digest, named by nobody.
	if got, err := os.ReadFile(durKeptPath(data, secondDigest)); err != nil || !bytes.Equal(got, second) {
		t.Fatalf("the file kept before the crash: %v (%d bytes, want %d, the upload's)", err, len(got), len(second))
	}
	out, code := runDesignateBinary(t, bin, "check", "--data", data)
	if code == 0 {
		t.Fatalf("check after the crash exited 0, want a failure naming the orphan:\n%s", out)
	}
	problems := durProblems(t, out)
	if len(problems) != 1 || !strings.Contains(problems[secondDigest], "orphan") || strings.Contains(problems[secondDigest], "dossier "+draft.ID) {
		t.Fatalf("check after the crash reported %d problem(s), want exactly the orphan %s:\n%s", len(problems), secondDigest, out)
	}
	if _, err := os.Stat(durKeptPath(data, secondDigest)); err != nil {
		t.Fatalf("check without --sweep removed the orphan: %v", err)
	}

	// The next start removes the orphan before it serves, and the dossier is
	// exactly what was acknowledged.
	srv = startServerProc(t, bin, config, data)
	if _, err := os.Stat(durKeptPath(data, secondDigest)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the orphan %s is still on disk once the server serves: %v", secondDigest, err)
	}
	if got, err := os.ReadFile(durKeptPath(data, firstDigest)); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("the acknowledged file after the sweep: %v", err)
	}
	city = srv.login(cityEmail, cityPassword)
	if got := srv.must(200, "GET", dossierPath, city, nil, nil); !bytes.Equal(got, before) {
		t.Fatalf("the crash changed the dossier:\nbefore %s\nafter  %s", before, got)
	}
	if got := srv.must(200, "GET", dossierPath+"/attachments", city, nil, nil); !bytes.Equal(got, listBefore) {
		t.Fatalf("the crash changed the dossier's files:\nbefore %s\nafter  %s", listBefore, got)
	}
	var after durDossier
	srv.must(200, "GET", dossierPath, city, nil, &after)
	if after.Version != saved.Version || len(after.Attachments) != 1 || after.Attachments[0].SHA256 != firstDigest || after.holds("annex", secondDigest) {
		t.Fatalf("after the crash the dossier is %+v, want v%d with only %s", after, saved.Version, firstDigest)
	}
	if got := durDownload(t, srv.client, srv.URL, city, draft.ID, after.Attachments[0]); !bytes.Equal(got, first) {
		t.Fatalf("the acknowledged file downloads as %d other bytes", len(got))
	}
	// The city sends the interrupted file again, and this time it is recorded.
	again := durUpload(t, srv.client, srv.URL, city, draft.ID, "annex", "annex.pdf", second)
	if again.Version != saved.Version+1 || len(again.Attachments) != 2 {
		t.Fatalf("the upload sent again: v%d with %d files, want v%d with 2", again.Version, len(again.Attachments), saved.Version+1)
	}
	srv.stop()

	out, code = runDesignateBinary(t, bin, "check", "--data", data)
	if code != 0 || !strings.Contains(out, "sound") || len(durProblems(t, out)) != 0 {
		t.Fatalf("check after the restart: exit %d, want 0 and sound:\n%s", code, out)
	}
}
