package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles the command once per test binary run.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "designate")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("go build: %v", err)
	}
	return bin
}

// The real program, as a separate process, stops on SIGTERM: it answers
// until then, exits 0, and releases the database so an offline backup can
// open it right after.
func TestServe_SIGTERM_StopsCleanlyAndReleasesTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--config", filepath.Join(repoRoot(t), "config.yaml"), "--data", data, "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The address is printed once the server listens.
	lines := bufio.NewScanner(stdout)
	var url string
	var printed strings.Builder
	for url == "" && lines.Scan() {
		line := lines.Text()
		printed.WriteString(line + "\n")
		if _, rest, ok := strings.Cut(line, "serving on "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	if url == "" {
		t.Fatalf("the server never said where it serves; it printed:\n%s", printed.String())
	}
	if !strings.Contains(printed.String(), "secretariat@example.org") {
		t.Errorf("the first start did not print the demo accounts:\n%s", printed.String())
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop within 30s of SIGTERM")
	}
	if !strings.Contains(string(rest), "stopping") {
		t.Errorf("no word of stopping after SIGTERM: %q", rest)
	}
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"backup", "--data", data, "--out", filepath.Join(t.TempDir(), "copy.db")}, &out, &errOut); err != nil {
		t.Fatalf("backup after the server stopped: %v", err)
	}
}
