package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// A backup of the demo's data (dozens of dossiers, hundreds of files, photos
// shared between dossiers) restored into a new directory is sound, holds
// every file byte for byte, and serves the same dossiers and the same
// downloads as the original.
func TestBackupRestore_DemoData_SameFilesSameDownloads(t *testing.T) {
	tm := MustRunMain(t, true)
	printed := tm.Out.String()
	secPassword := demoPassword(t, printed, "secretariat@example.org")
	covilhaPassword := demoPassword(t, printed, "covilha@example.org")

	// What the original serves: every dossier the secretariat sees (every
	// submitted one), Covilhã's draft, and every file of each.
	type reader struct{ email, password string }
	readers := map[string]reader{}
	tokens := map[reader]string{}
	for _, r := range []reader{{"secretariat@example.org", secPassword}, {"covilha@example.org", covilhaPassword}} {
		tokens[r] = tm.MustLogin(r.email, r.password)
		for _, d := range tm.listAll("", tokens[r]) {
			readers[d.ID] = r
		}
	}
	dossiers := map[string][]byte{}
	downloads := map[string][]byte{}
	key := func(id string, at durAttachment) string { return fmt.Sprintf("%s/%s/%d", id, at.Slot, at.N) }
	for id, r := range readers {
		raw := tm.Raw("/api/v1/applications/"+id, tokens[r])
		dossiers[id] = raw
		var d durDossier
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		for _, at := range d.Attachments {
			content := durDownload(t, http.DefaultClient, tm.URL(), tokens[r], id, at)
			if durDigest(content) != at.SHA256 || int64(len(content)) != at.Size {
				t.Fatalf("the original serves %s of %s as other bytes than its record says", key(id, at), id)
			}
			downloads[key(id, at)] = content
		}
	}
	if len(dossiers) < 10 || len(downloads) < 50 {
		t.Fatalf("the demo has %d dossiers and %d files; the test needs many of both", len(dossiers), len(downloads))
	}
	tm.Stop()
	data := tm.Config.Data
	if out, _, err := runCommand("check", "--data", data); err != nil {
		t.Fatalf("the demo's data is not sound before the backup: %v\n%s", err, out)
	}
	original := durKept(t, data)

	archive := filepath.Join(t.TempDir(), "designate-backup.tar")
	if out, _, err := runCommand("backup", "--data", data, "--out", archive); err != nil || !strings.Contains(out, archive) {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if _, err := os.Stat(archive + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the backup left its temporary file: %v", err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	out, errOut, err := runCommand("restore", "--data", restored, "--from", archive)
	if err != nil || !strings.Contains(out, "sound") {
		t.Fatalf("restore: %v\n%s%s", err, out, errOut)
	}
	copied := durKept(t, restored)
	if len(copied) != len(original) {
		t.Errorf("the restored directory keeps %d files, the original %d", len(copied), len(original))
	}
	for digest, content := range original {
		if got, ok := copied[digest]; !ok {
			t.Errorf("file %s was not restored", digest)
		} else if !bytes.Equal(got, content) {
			t.Errorf("file %s was restored with other bytes", digest)
		}
	}

	// The server started on the copy serves the same dossiers and files.
	tm2 := MustRunMainConfig(t, ConfigForTest(t, restored, false), engine.NewManualClock(testStart))
	for _, r := range []reader{{"secretariat@example.org", secPassword}, {"covilha@example.org", covilhaPassword}} {
		tokens[r] = tm2.MustLogin(r.email, r.password)
	}
	for id, raw := range dossiers {
		tok := tokens[readers[id]]
		if got := tm2.Raw("/api/v1/applications/"+id, tok); !bytes.Equal(got, raw) {
			t.Fatalf("dossier %s differs after the restore:\nbefore %s\nafter  %s", id, raw, got)
		}
		var d durDossier
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		for _, at := range d.Attachments {
			if got := durDownload(t, http.DefaultClient, tm2.URL(), tok, id, at); !bytes.Equal(got, downloads[key(id, at)]) {
				t.Fatalf("%s downloads as other bytes after the restore", key(id, at))
			}
		}
	}
}

// durBackupFixture is the files fixture (two drafts, six files) and its backup.
func durBackupFixture(t *testing.T) (*durFixture, string) {
	t.Helper()
	_, f := newDurFixture(t)
	archive := filepath.Join(t.TempDir(), "backup.tar")
	if out, _, err := runCommand("backup", "--data", f.Data, "--out", archive); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	return f, archive
}

// Restore writes into a directory with no database only: one holding a
// database is refused before anything in it is touched.
func TestRestore_RefusesATargetHoldingADatabase_ChangesNothing(t *testing.T) {
	f, archive := durBackupFixture(t)
	for name, target := range map[string]string{
		"the backed-up data itself": f.Data,
		"a directory holding just a database": func() string {
			dir := t.TempDir()
			if err := os.WriteFile(dbFile(dir), []byte("not even a database, but someone's"), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}(),
	} {
		before := durTree(t, target)
		out, errOut, err := runCommand("restore", "--data", target, "--from", archive)
		if err == nil || !strings.Contains(err.Error(), "database") {
			t.Fatalf("restore into %s: %v, want a refusal naming the database there\n%s%s", name, err, out, errOut)
		}
		if diff := durTreeDiff(before, durTree(t, target), true); diff != "" {
			t.Fatalf("a refused restore into %s changed it:\n%s", name, diff)
		}
	}
}

// durTarEntry is an entry of an archive with where its content starts.
type durTarEntry struct {
	Name         string
	Offset, Size int64
}

type durCountingReader struct {
	r io.Reader
	n int64
}

func (c *durCountingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// durTarEntries lists an archive's entries; the offsets are checked by the
// callers against the content's digest, so a misplaced offset fails loudly.
func durTarEntries(t *testing.T, archive []byte) []durTarEntry {
	t.Helper()
	cr := &durCountingReader{r: bytes.NewReader(archive)}
	tr := tar.NewReader(cr)
	var out []durTarEntry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, durTarEntry{Name: hdr.Name, Offset: cr.n, Size: hdr.Size})
	}
}

// A damaged backup (one flipped byte inside a file's content, which tar
// does not check; or an archive cut short) is refused, naming the damage,
// and leaves no database behind; the sound backup then restores into the
// same directory.
func TestRestore_RefusesADamagedArchive_LeavesNoDatabase(t *testing.T) {
	f, archive := durBackupFixture(t)
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	var files []durTarEntry
	for _, e := range durTarEntries(t, raw) {
		if strings.HasPrefix(e.Name, "files/sha256/") {
			content := raw[e.Offset : e.Offset+e.Size]
			if durDigest(content) != path.Base(e.Name) {
				t.Fatalf("entry %s: the content found at offset %d is not the file's", e.Name, e.Offset)
			}
			files = append(files, e)
		}
	}
	if len(files) != len(f.Files) {
		t.Fatalf("the backup holds %d files, the data %d", len(files), len(f.Files))
	}
	// The last file: by then the database and the other files are unpacked.
	last := files[len(files)-1]
	damaged := bytes.Clone(raw)
	damaged[last.Offset+last.Size/2] ^= 0x01
	cut := raw[:last.Offset+last.Size/2]

	target := filepath.Join(t.TempDir(), "data")
	for name, c := range map[string]struct {
		archive []byte
		words   []string
	}{
		"a flipped byte":       {damaged, []string{"damaged", path.Base(last.Name)}},
		"an archive cut short": {cut, []string{path.Base(last.Name)}},
	} {
		bad := filepath.Join(t.TempDir(), "bad.tar")
		if err := os.WriteFile(bad, c.archive, 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := runCommand("restore", "--data", target, "--from", bad)
		if err == nil {
			t.Fatalf("restore of %s succeeded:\n%s%s", name, out, errOut)
		}
		for _, w := range c.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("restore of %s: %q does not mention %q", name, err, w)
			}
		}
		if strings.Contains(out, "sound") {
			t.Errorf("restore of %s said sound:\n%s", name, out)
		}
		entries, _ := os.ReadDir(target)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "designate.db") {
				t.Fatalf("restore of %s left %s in the target", name, e.Name())
			}
		}
		if _, err := os.Stat(durKeptPath(target, path.Base(last.Name))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("restore of %s kept the damaged file: %v", name, err)
		}
	}

	// A failed restore is no obstacle to the next one.
	out, errOut, err := runCommand("restore", "--data", target, "--from", archive)
	if err != nil || !strings.Contains(out, "sound") {
		t.Fatalf("restore of the sound backup after the refused ones: %v\n%s%s", err, out, errOut)
	}
	kept := durKept(t, target)
	if len(kept) != len(f.Files) {
		t.Fatalf("the restore keeps %d files, want %d", len(kept), len(f.Files))
	}
	for d, content := range f.Files {
		if !bytes.Equal(kept[d], content) {
			t.Errorf("file %s restored with other bytes", d)
		}
	}
}

// durCraftedEntry is an entry of a crafted archive.
type durCraftedEntry struct {
	Name     string
	Type     byte
	Linkname string
	Body     []byte
}

func durWriteTar(t *testing.T, file string, entries []durCraftedEntry) {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Linkname, Mode: 0o600, Size: int64(len(e.Body)), ModTime: time.Now()}
		if e.Type != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write(e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// An archive whose entries name places outside the data directory (a
// relative path climbing out, an absolute path, a climb hidden inside the
// files' tree, a link) is refused, naming the entry, and nothing is
// written outside the target, nor a database inside it.
func TestRestore_RefusesEntriesOutsideTheTarget(t *testing.T) {
	_, archive := durBackupFixture(t)
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	var db []byte
	for _, e := range durTarEntries(t, raw) {
		if e.Name == "designate.db" {
			db = raw[e.Offset : e.Offset+e.Size]
		}
	}
	if db == nil {
		t.Fatal("the backup holds no designate.db")
	}
	content := demoPDF("evil")
	d := durDigest(content)

	for name, evil := range map[string]func(outside string) []durCraftedEntry{
		"../evil": func(string) []durCraftedEntry { return []durCraftedEntry{{Name: "../evil", Body: content}} },
		"an absolute path": func(outside string) []durCraftedEntry {
			return []durCraftedEntry{{Name: filepath.ToSlash(filepath.Join(outside, "x")), Body: content}}
		},
		"/tmp/x": func(string) []durCraftedEntry { return []durCraftedEntry{{Name: "/tmp/x", Body: content}} },
		"files/sha256/../../evil": func(string) []durCraftedEntry {
			return []durCraftedEntry{{Name: "files/sha256/../../evil", Body: content}}
		},
		"files/sha256/../../../evil": func(string) []durCraftedEntry {
			return []durCraftedEntry{{Name: "files/sha256/../../../evil", Body: content}}
		},
		"a climb ending in a digest": func(string) []durCraftedEntry {
			return []durCraftedEntry{{Name: "files/sha256/" + d[:2] + "/../../../../" + d, Body: content}}
		},
		"a symbolic link out": func(outside string) []durCraftedEntry {
			return []durCraftedEntry{
				{Name: "files/sha256/" + d[:2], Type: tar.TypeSymlink, Linkname: outside},
				{Name: "files/sha256/" + d[:2] + "/" + d, Body: content},
			}
		},
		"a hard link out": func(outside string) []durCraftedEntry {
			return []durCraftedEntry{{Name: "files/sha256/" + d[:2] + "/" + d, Type: tar.TypeLink, Linkname: filepath.Join(outside, "secret")}}
		},
	} {
		t.Run(strings.ReplaceAll(name, "/", "|"), func(t *testing.T) {
			parent, outside := t.TempDir(), t.TempDir()
			secret := filepath.Join(outside, "secret")
			if err := os.WriteFile(secret, []byte("outside the target"), 0o600); err != nil {
				t.Fatal(err)
			}
			outsideBefore := durTree(t, outside)
			_, tmpX := os.Lstat("/tmp/x") // the literal case: /tmp/x must be as it was
			target := filepath.Join(parent, "data")
			entries := append([]durCraftedEntry{{Name: "designate.db", Body: db}}, evil(outside)...)
			for i := range entries {
				if entries[i].Type == 0 {
					entries[i].Type = tar.TypeReg
				}
			}
			crafted := filepath.Join(t.TempDir(), "crafted.tar")
			durWriteTar(t, crafted, entries)

			out, errOut, err := runCommand("restore", "--data", target, "--from", crafted)
			if err == nil {
				t.Fatalf("restore of a crafted archive succeeded:\n%s%s", out, errOut)
			}
			if first := entries[1].Name; !strings.Contains(err.Error(), first) {
				t.Errorf("the refusal %q does not name the entry %q", err, first)
			}
			// Inside the parent, only the target's own empty skeleton.
			var extra []string
			for p := range durTree(t, parent) {
				if !slices.Contains([]string{"", "data", "data/files", "data/files/staging", "data/files/sha256"}, p) {
					extra = append(extra, p)
				}
			}
			slices.Sort(extra)
			if len(extra) > 0 {
				t.Errorf("the refused restore left %v", extra)
			}
			if diff := durTreeDiff(outsideBefore, durTree(t, outside), true); diff != "" {
				t.Errorf("the refused restore changed a directory outside the target:\n%s", diff)
			}
			if _, err := os.Lstat(secret); err != nil {
				t.Errorf("the file outside: %v", err)
			}
			if _, err := os.Lstat("/tmp/x"); errors.Is(tmpX, os.ErrNotExist) && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the refused restore made /tmp/x: %v", err)
				_ = os.Remove("/tmp/x") // ours: it was not there before
			}
		})
	}
}
