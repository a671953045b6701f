package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
	"designate/store"
)

// durFixture is a stopped server's data directory holding two cities'
// drafts with files, each file's content different, so that damage to one
// file concerns one dossier.
type durFixture struct {
	Data string
	// Files are the uploaded contents by digest.
	Files map[string][]byte
	// Lyon and Porto are the dossiers' ids; the digests below are Lyon's
	// letter, photo and annex, and Porto's letter and two photos.
	Lyon, Porto                          string
	LyonLetter, LyonPhoto, LyonAnnex     string
	PortoLetter, PortoPhoto, PortoPhoto2 string
}

// newDurFixture makes the fixture through the API of the real program,
// and stops it; tm is returned stopped, for Restart.
func newDurFixture(t *testing.T) (*TestMain, *durFixture) {
	t.Helper()
	tm := MustRunMain(t, false)
	sec := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", sec, durCallBody("files-2027"), nil)
	lyon := tm.newCity("Lyon", "FR", "Film")
	tm.startDossier(lyon, "files-2027")
	porto := tm.newCity("Porto", "PT", "Music")
	tm.startDossier(porto, "files-2027")
	f := &durFixture{Data: tm.Config.Data, Files: map[string][]byte{}, Lyon: lyon.Dossier.ID, Porto: porto.Dossier.ID}
	up := func(c *city, slot, name string, content []byte) string {
		durUpload(t, http.DefaultClient, tm.URL(), c.Token, c.Dossier.ID, slot, name, content)
		d := durDigest(content)
		f.Files[d] = content
		return d
	}
	f.LyonLetter = up(lyon, "letter", "lettre.pdf", demoPDF("Lyon", "Letter from the Mayor"))
	f.LyonPhoto = up(lyon, "photos", "fourviere.jpg", demoJPEG(64, 48, 1))
	f.LyonAnnex = up(lyon, "annex", "annexe.pdf", demoPDF("Lyon", "Annex"))
	f.PortoLetter = up(porto, "letter", "carta.pdf", demoPDF("Porto", "Letter from the Mayor"))
	f.PortoPhoto = up(porto, "photos", "ribeira.png", durPNG(t, 1))
	f.PortoPhoto2 = up(porto, "photos", "douro.png", durPNG(t, 2))
	if len(f.Files) != 6 {
		t.Fatalf("the fixture's files are not all different: %d digests for 6 uploads", len(f.Files))
	}
	tm.Stop()
	return tm, f
}

// check runs `designate check` on the fixture's data directory.
func (f *durFixture) check(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, errOut, err := runCommand(append([]string{"check", "--data", f.Data}, args...)...)
	return out + errOut, err
}

// The integrity check reads every file a dossier names: a flipped byte, a
// cut file and a missing file are each reported against the dossier that
// names them, a file no dossier names is reported as an orphan, and any of
// these makes the command fail; --sweep removes the orphan and nothing
// else; the data once repaired is reported sound, with success.
func TestCheck_ReportsDamagedMissingAndOrphanFiles_SweepRemovesOnlyOrphans(t *testing.T) {
	tm, f := newDurFixture(t)

	out, err := f.check(t)
	if err != nil || !strings.Contains(out, "sound") || len(durProblems(t, out)) != 0 {
		t.Fatalf("check of a sound data directory: %v\n%s", err, out)
	}

	// Damage: one byte of Lyon's letter flipped, Lyon's photo cut short,
	// Porto's first photo deleted, and a file nobody names put in the store.
	flipped := bytes.Clone(f.Files[f.LyonLetter])
	flipped[len(flipped)/2] ^= 0x20
	if err := os.WriteFile(durKeptPath(f.Data, f.LyonLetter), flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	photo := f.Files[f.LyonPhoto]
	if err := os.WriteFile(durKeptPath(f.Data, f.LyonPhoto), photo[:len(photo)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(durKeptPath(f.Data, f.PortoPhoto)); err != nil {
		t.Fatal(err)
	}
	orphan := demoPDF("a file no dossier names")
	orphanDigest := durDigest(orphan)
	if err := os.MkdirAll(filepath.Dir(durKeptPath(f.Data, orphanDigest)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(durKeptPath(f.Data, orphanDigest), orphan, 0o600); err != nil {
		t.Fatal(err)
	}
	damaged := durTree(t, filepath.Join(f.Data, "files"))

	out, err = f.check(t)
	if err == nil {
		t.Fatalf("check of damaged data succeeded:\n%s", out)
	}
	if !strings.Contains(err.Error(), "4 problem") {
		t.Errorf("check's error %q does not count the 4 problems", err)
	}
	problems := durProblems(t, out)
	want := map[string][]string{
		f.LyonLetter: {"of dossier " + f.Lyon + ":", "does not match its SHA-256"},
		f.LyonPhoto:  {"of dossier " + f.Lyon + ":", "bytes", "the record says"},
		f.PortoPhoto: {"of dossier " + f.Porto + ":", "missing"},
		orphanDigest: {"orphan"},
	}
	if len(problems) != len(want) {
		t.Fatalf("check reported %d problems, want %d:\n%s", len(problems), len(want), out)
	}
	for digest, words := range want {
		for _, w := range words {
			if !strings.Contains(problems[digest], w) {
				t.Errorf("check's line for %s lacks %q:\n%s", digest, w, out)
			}
		}
	}
	if strings.Contains(problems[orphanDigest], "of dossier") {
		t.Errorf("the orphan is reported against a dossier: %s", problems[orphanDigest])
	}
	if diff := durTreeDiff(damaged, durTree(t, filepath.Join(f.Data, "files")), true); diff != "" {
		t.Fatalf("check without --sweep changed the files:\n%s", diff)
	}

	// --sweep removes the orphan, and only it: damaged files stay for
	// someone to look at, and the command still fails for them.
	out, err = f.check(t, "--sweep")
	if err == nil || !strings.Contains(out, "removed 1 file") {
		t.Fatalf("check --sweep: %v, want one file removed and the damage still reported:\n%s", err, out)
	}
	if problems := durProblems(t, out); len(problems) != 3 || problems[orphanDigest] != "" {
		t.Fatalf("after the sweep check reported %d problems, want the 3 damaged files and no orphan:\n%s", len(problems), out)
	}
	swept := durTree(t, filepath.Join(f.Data, "files"))
	orphanRel := "sha256/" + orphanDigest[:2] + "/" + orphanDigest
	if _, ok := swept[orphanRel]; ok {
		t.Fatalf("check --sweep left the orphan %s", orphanRel)
	}
	delete(damaged, orphanRel)
	for p, file := range damaged {
		if file.Mode.IsDir() {
			delete(damaged, p) // the sweep may leave or remove an emptied fan-out directory
		}
	}
	for p, file := range swept {
		if file.Mode.IsDir() {
			delete(swept, p)
		}
	}
	if diff := durTreeDiff(damaged, swept, true); diff != "" {
		t.Fatalf("check --sweep touched more than the orphan:\n%s", diff)
	}

	// Repaired from the uploads, the data is sound again, and serves.
	for _, d := range []string{f.LyonLetter, f.LyonPhoto, f.PortoPhoto} {
		if err := os.WriteFile(durKeptPath(f.Data, d), f.Files[d], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err = f.check(t)
	if err != nil || !strings.Contains(out, "sound") || len(durProblems(t, out)) != 0 {
		t.Fatalf("check of the repaired data: %v\n%s", err, out)
	}
	tm.Restart()
	lyon := tm.MustLogin("lyon@fr.example.org", testPassword)
	var d durDossier
	tm.MustDo(200, "GET", "/api/v1/applications/"+f.Lyon, lyon, nil, &d)
	for _, at := range d.Attachments {
		if got := durDownload(t, http.DefaultClient, tm.URL(), lyon, f.Lyon, at); !bytes.Equal(got, f.Files[at.SHA256]) {
			t.Errorf("%s %d downloads as other bytes after the repair", at.Slot, at.N)
		}
	}
}

// The check refuses to run beside the server, which holds the database,
// and says so; it needs a database to check.
func TestCheck_RefusesWhileServingAndWithoutDatabase(t *testing.T) {
	tm := MustRunMain(t, false)
	_, _, err := runCommand("check", "--data", tm.Config.Data)
	if err == nil || !strings.Contains(err.Error(), "server") {
		t.Fatalf("check while the server runs: %v, want a refusal that mentions the server", err)
	}
	empty := t.TempDir()
	_, _, err = runCommand("check", "--data", empty)
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("check of an empty directory: %v, want a refusal", err)
	}
	if _, err := os.Stat(dbFile(empty)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("check of an empty directory made a database: %v", err)
	}
}

// ckServedData is a stopped server's data directory after real work: the
// demo's call, accounts and dossiers (drafted, submitted, endorsed, with
// their files and e-mails), and over the API a call configured, a city's
// dossier started, given a file and withdrawn. It returns the directory and
// that dossier's id.
func ckServedData(t *testing.T) (data, withdrawn string) {
	t.Helper()
	tm := MustRunMain(t, true)
	sec := tm.MustUser("ck-secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", sec, durCallBody("files-2027"), nil)
	lyon := tm.newCity("Lyon", "FR", "Film")
	tm.startDossier(lyon, "files-2027")
	durUpload(t, http.DefaultClient, tm.URL(), lyon.Token, lyon.Dossier.ID, "letter", "lettre.pdf", demoPDF("Lyon", "Letter"))
	lyon.Dossier = tm.dossier(lyon.Dossier.ID, lyon.Token)
	tm.move(lyon.Token, &lyon.Dossier, "withdraw", "", "withdrawn")
	tm.Stop()
	return tm.Config.Data, lyon.Dossier.ID
}

// The real command on a served data directory says it is sound and what it
// looked at; once a dossier's state is changed behind its history (through
// the store, which keeps the indexes in step) and an account's e-mail
// entry is deleted (with bbolt), it fails, listing exactly those two.
func TestCheck_ServedData_IsSound_ThenCorruptionsAreListed(t *testing.T) {
	data, id := ckServedData(t)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"check", "--data", data}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "check: data is sound in "+data) {
		t.Fatalf("check of the served data: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, what := range []string{" dossiers", " history events", " index entries", " tally counts", " outbox messages", " files named by dossiers"} {
		if !strings.Contains(out.String(), what) {
			t.Errorf("the check's summary does not say how many%s it looked at:\n%s", what, out.String())
		}
	}

	db, err := store.Open(dbFile(data), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var account string
	err = db.Update(context.Background(), func(tx engine.Tx) error {
		app, err := tx.Application(id)
		if err != nil {
			return err
		}
		app.State = engine.Draft
		u, err := tx.UserByEmail("lyon@fr.example.org")
		if err != nil {
			return err
		}
		account = u.ID
		return tx.PutApplication(app)
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("change the dossier: %v %v", err, cerr)
	}
	b, err := bolt.Open(dbFile(data), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("emails")).Delete([]byte("lyon@fr.example.org")) })
	if cerr := b.Close(); err != nil || cerr != nil {
		t.Fatalf("delete the e-mail entry: %v %v", err, cerr)
	}

	out.Reset()
	err = run(context.Background(), []string{"check", "--data", data}, &out, &errOut)
	if err == nil || err.Error() != "check: 2 problem(s) in "+data {
		t.Fatalf("check of the corrupted data: %v, want 2 problems\n%s", err, out.String())
	}
	want := "account " + account + `: its e-mail "lyon@fr.example.org" is not in emails` + "\n" +
		"dossier " + id + ": its state is draft, but its last history event (2, withdraw) left it withdrawn\n"
	if out.String() != want {
		t.Fatalf("check listed\n%s\nwant\n%s", out.String(), want)
	}
}
