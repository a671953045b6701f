package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"designate/engine"
	"designate/store"
)

// The hot backup: GET /api/v1/admin/backup streams the archive the offline
// `designate backup` writes, while the server goes on serving; `designate
// backup` fetches it when the server holds the database.

const hbPath = "/api/v1/admin/backup"

// hbAdmin makes an admin account and returns its e-mail and token.
func hbAdmin(tm *TestMain) (string, string) {
	tm.tb.Helper()
	const email = "hb-admin@example.org"
	return email, tm.MustUser(email, engine.RoleAdmin, "", "")
}

// hbBackup runs `designate backup` against the running server tm, as the
// admin email whose password is in the environment.
func hbBackup(t *testing.T, tm *TestMain, email, out string) (string, error) {
	t.Helper()
	var o, e bytes.Buffer
	err := run(context.Background(), []string{"backup", "--data", tm.Config.Data, "--out", out, "--addr", tm.URL(), "--email", email}, &o, &e)
	return o.String() + e.String(), err
}

// hbNoFile fails unless neither out nor out.tmp exists.
func hbNoFile(t *testing.T, out string) {
	t.Helper()
	for _, p := range []string{out, out + ".tmp"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is there after a failed backup: %v", p, err)
		}
	}
}

// Only the admin takes a hot backup: the public is asked to sign in, every
// other role is refused (the secretariat included: a backup holds every
// draft and every account, which the secretariat never sees). The admin's
// answer is a download of a complete archive, and the audit log says who
// took it.
func TestHotBackup_AdminOnly(t *testing.T) {
	tm := MustRunMain(t, false)
	admin, adminToken := hbAdmin(tm)
	for _, c := range []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"anonymous", "", 401, engine.EUNAUTHORIZED},
		{"applicant", tm.MustUser("hb-city@example.org", engine.RoleApplicant, "FR", "Lyon"), 403, engine.EFORBIDDEN},
		{"commission", tm.MustUser("hb-commission@example.org", engine.RoleCommission, "FR", ""), 403, engine.EFORBIDDEN},
		{"secretariat", tm.MustUser("hb-secretariat@example.org", engine.RoleSecretariat, "", ""), 403, engine.EFORBIDDEN},
	} {
		t.Run(c.name, func(t *testing.T) {
			MustAPIError(t, tm.MustSend("GET", hbPath, c.token, nil), c.status, c.code)
		})
	}

	r := tm.MustSend("GET", hbPath, adminToken, nil)
	if r.Status != 200 {
		t.Fatalf("admin: status %d; body %.300s", r.Status, r.Body)
	}
	h := r.Header
	if ct := h.Get("Content-Type"); ct != "application/x-tar" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="designate-`) || !strings.HasSuffix(cd, `Z.tar"`) {
		t.Errorf("Content-Disposition %q, want an attachment named designate-<UTC time>.tar", cd)
	}
	if cc := h.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	m, err := store.VerifyBackup(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("the admin's download is not a complete backup: %v", err)
	}
	if m.Database.Bytes == 0 {
		t.Errorf("manifest %+v: no database", m)
	}
	var found bool
	for _, ev := range readAudit(t, tm, adminToken, 100) {
		found = found || (ev.Action == engine.AuditBackup && ev.Actor == admin && ev.Role == engine.RoleAdmin && ev.Address != "")
	}
	if !found {
		t.Errorf("the audit log does not record the admin's backup")
	}
}

// While cities start, save, submit and withdraw dossiers through the API,
// `designate backup` takes the backup through the running server (it holds
// the database); the server answers throughout, without an error. The
// archive restores with `designate restore` into an empty directory, the
// check passes on it, and every write acknowledged before the backup
// started is in it, at its version or a later one. The demo's files make
// the archive long enough that requests complete while it streams.
func TestHotBackup_UnderLoad_HoldsEveryWriteAcknowledgedBefore(t *testing.T) {
	tm := MustRunMain(t, true)
	admin, adminToken := hbAdmin(tm)
	t.Setenv(passwordEnv, testPassword)
	secretariat := tm.MustUser("hb-sec@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, callBody("hb-load"), nil)

	load := hbStartLoad(tm, "hb-load", 8)
	defer load.finish()
	load.waitAcks(t, 80)

	archive := filepath.Join(t.TempDir(), "hot.tar")
	started := time.Now()
	out, err := hbBackup(t, tm, admin, archive)
	ended := time.Now()
	if err != nil {
		t.Fatalf("backup while serving: %v\n%s", err, out)
	}
	if !strings.Contains(out, archive) || !strings.Contains(out, tm.URL()) {
		t.Errorf("backup says %q, want the server and the file named", out)
	}
	// The command's time includes its wait for the database's lock (how it
	// knows the server runs) and its sign-in: the download alone, once
	// more, is the window in which the server streams.
	fetchFrom := time.Now()
	if r := tm.MustSend("GET", hbPath, adminToken, nil); r.Status != 200 {
		t.Fatalf("download: status %d", r.Status)
	}
	fetchTo := time.Now()
	// The load goes on for a while after the backups, then stops.
	load.waitAcks(t, load.acked.Load()+40)
	load.finish()

	if len(load.errs) > 0 {
		t.Fatalf("the load met %d errors, first %s", len(load.errs), load.errs[0])
	}
	for st, n := range load.status {
		if st >= 500 {
			t.Errorf("%d answers with status %d", n, st)
		}
	}
	for _, w := range []struct {
		name     string
		from, to time.Time
	}{{"designate backup", started, ended}, {"the download alone", fetchFrom, fetchTo}} {
		answered, writesDuring, writesOutside := load.around(w.from, w.to)
		if answered == 0 {
			t.Fatalf("no request was answered during %s (%v)", w.name, w.to.Sub(w.from))
		}
		p99in, p99out := hbP99(writesDuring), hbP99(writesOutside)
		t.Logf("%s took %v; %d requests answered during it; write latency p99 %v during it (%d writes), %v outside it (%d writes), ratio %.2f",
			w.name, w.to.Sub(w.from).Round(time.Millisecond), answered, p99in, len(writesDuring), p99out, len(writesOutside), float64(p99in)/float64(p99out))
	}

	m, err := verifyBackupFile(archive)
	if err != nil {
		t.Fatalf("the archive kept is not complete: %v", err)
	}
	if m.Files < 50 {
		t.Errorf("the archive holds %d files; the demo has hundreds", m.Files)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if out, errOut, err := runCommand("restore", "--data", restored, "--from", archive); err != nil || !strings.Contains(out, "sound") {
		t.Fatalf("restore: %v\n%s%s", err, out, errOut)
	}
	if out, errOut, err := runCommand("check", "--data", restored); err != nil {
		t.Fatalf("check of the restored copy: %v\n%s%s", err, out, errOut)
	}

	db, err := store.Open(dbFile(restored), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before, after, afterHeld := 0, 0, 0
	err = db.View(context.Background(), func(tx engine.ReadTx) error {
		for _, a := range load.acks {
			got, err := tx.Application(a.ID)
			if !a.At.Before(started) {
				after++
				if err == nil && got.Version >= a.Version {
					afterHeld++
				}
				continue
			}
			before++
			if err != nil {
				return fmt.Errorf("dossier %s (%s v%d, acknowledged before the backup) is not in it: %w", a.ID, a.State, a.Version, err)
			}
			if got.Version < a.Version || (got.Version == a.Version && string(got.State) != a.State) {
				return fmt.Errorf("dossier %s is %s v%d in the backup; %s v%d was acknowledged before it", a.ID, got.State, got.Version, a.State, a.Version)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if before < 80 {
		t.Fatalf("only %d writes were acknowledged before the backup", before)
	}
	t.Logf("%d writes acknowledged before the backup, all in it; %d of the %d acknowledged during or after it are in it too", before, afterHeld, after)
}

// With the server stopped, the same command (flags for the server
// included) reads the data directory itself.
func TestHotBackup_ServerStopped_ReadsTheFile(t *testing.T) {
	tm := MustRunMain(t, false)
	admin, _ := hbAdmin(tm)
	url := tm.URL()
	tm.Stop()
	t.Setenv(passwordEnv, testPassword)
	archive := filepath.Join(t.TempDir(), "cold.tar")
	out, err := hbBackupAt(tm.Config.Data, url, admin, archive)
	if err != nil || !strings.Contains(out, "backed up "+tm.Config.Data) {
		t.Fatalf("backup with the server stopped: %v\n%s", err, out)
	}
	if _, err := verifyBackupFile(archive); err != nil {
		t.Fatalf("the offline archive is not complete: %v", err)
	}
}

func hbBackupAt(data, url, email, out string, extra ...string) (string, error) {
	var o, e bytes.Buffer
	args := append([]string{"backup", "--data", data, "--out", out, "--addr", url, "--email", email}, extra...)
	err := run(context.Background(), args, &o, &e)
	return o.String() + e.String(), err
}

// The command refuses, and writes nothing, when it cannot back up as the
// admin: no password, a wrong one, a password file that is not there, an
// account that is not the admin's. The password file may end with a line
// break.
func TestHotBackup_RefusedSignIn_WritesNothing(t *testing.T) {
	tm := MustRunMain(t, false)
	admin, _ := hbAdmin(tm)
	tm.MustUser("hb-sec@example.org", engine.RoleSecretariat, "", "")
	archive := filepath.Join(t.TempDir(), "refused.tar")
	wrong := filepath.Join(t.TempDir(), "wrong-password")
	if err := os.WriteFile(wrong, []byte("not the password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(passwordEnv, "")
	for name, c := range map[string]struct {
		email string
		extra []string
		want  string
	}{
		"no password":             {admin, nil, passwordEnv},
		"a wrong password":        {admin, []string{"--password-file", wrong}, "sign in"},
		"a missing password file": {admin, []string{"--password-file", filepath.Join(t.TempDir(), "none")}, "password-file"},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			out, err := hbBackupAt(tm.Config.Data, tm.URL(), c.email, archive, c.extra...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("backup: %v, want a refusal naming %q\n%s", err, c.want, out)
			}
			hbNoFile(t, archive)
		})
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := hbBackupAt(tm.Config.Data, tm.URL(), "hb-sec@example.org", archive, "--password-file", pw)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("backup as the secretariat: %v, want 403\n%s", err, out)
	}
	hbNoFile(t, archive)
	// The admin's password from a file, trailing newline and all.
	if err := os.WriteFile(pw, []byte(testPassword+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := hbBackupAt(tm.Config.Data, tm.URL(), admin, archive, "--password-file", pw); err != nil {
		t.Fatalf("backup with --password-file: %v\n%s", err, out)
	}
}

// A server that dies mid-stream (the connection ends before the archive
// does), or whose archive ends cleanly at an entry's boundary without its
// manifest, leaves no backup: the command says it was cut short, and
// neither FILE nor FILE.tmp is there; a backup already at FILE stays as
// it was. The whole archive, served the same way, is kept.
func TestHotBackup_CutShort_LeavesNoFile(t *testing.T) {
	tm := MustRunMain(t, false)
	admin, adminToken := hbAdmin(tm)
	r := tm.MustSend("GET", hbPath, adminToken, nil)
	if r.Status != 200 {
		t.Fatalf("backup: status %d", r.Status)
	}
	whole := r.Body
	var manifestAt int64 = -1
	for _, e := range durTarEntries(t, whole) {
		if e.Name == "designate-backup.json" {
			manifestAt = e.Offset - 512 // its header
		}
	}
	if manifestAt < 0 {
		t.Fatal("the archive has no manifest")
	}
	t.Setenv(passwordEnv, testPassword)

	for name, c := range map[string]struct {
		serve func(w http.ResponseWriter)
		want  string
	}{
		"the server dies mid-stream": {func(w http.ResponseWriter) {
			w.Write(whole[:len(whole)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, "cut short"},
		"the archive ends before its manifest": {func(w http.ResponseWriter) {
			w.Write(whole[:manifestAt])
		}, "cut short"},
		"the whole archive": {func(w http.ResponseWriter) {
			w.Write(whole)
		}, ""},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/api/v1/login":
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(`{"token":"hb-token"}`))
				case "/api/v1/logout":
					w.WriteHeader(204)
				case hbPath:
					if r.Header.Get("Authorization") != "Bearer hb-token" {
						w.WriteHeader(401)
						return
					}
					w.Header().Set("Content-Type", "application/x-tar")
					c.serve(w)
				default:
					w.WriteHeader(404)
				}
			}))
			defer srv.Close()
			dir := t.TempDir()
			archive := filepath.Join(dir, "new.tar")
			out, err := hbBackupAt(tm.Config.Data, srv.URL, admin, archive)
			if c.want == "" {
				if err != nil {
					t.Fatalf("backup of the whole archive: %v\n%s", err, out)
				}
				if got, _ := os.ReadFile(archive); !bytes.Equal(got, whole) {
					t.Fatalf("the backup kept %d bytes, the server sent %d", len(got), len(whole))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("backup: %v, want an error saying %q\n%s", err, c.want, out)
			}
			hbNoFile(t, archive)

			// An earlier backup at FILE is not replaced by a broken one.
			earlier := filepath.Join(dir, "earlier.tar")
			if err := os.WriteFile(earlier, whole, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := hbBackupAt(tm.Config.Data, srv.URL, admin, earlier); err == nil {
				t.Fatal("the broken backup succeeded over an earlier one")
			}
			if got, _ := os.ReadFile(earlier); !bytes.Equal(got, whole) {
				t.Fatal("a broken backup changed the earlier backup at FILE")
			}
			if _, err := os.Stat(earlier + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s.tmp left: %v", earlier, err)
			}
		})
	}
}
