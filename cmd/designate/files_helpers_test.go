package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What the tests of the kept files share (crash, check, backup, restore):
// a call with attachment slots, an upload as a browser sends it, the
// dossier's files as the API lists them, and the data directory's files as
// the disk holds them. The names start with "dur" (durability) so that they
// cannot collide with the helpers of the other attachment tests.

// durCallBody is callBody with three slots: a required one-file PDF letter,
// up to three photos (JPEG or PNG) and up to two PDF annexes.
// durCallOpenNow is durCallBody open since yesterday by the real clock,
// for the tests that run the binary, which tells time by it.
func durCallOpenNow(id string) map[string]any {
	call := durCallBody(id)
	now := time.Now().UTC().Truncate(time.Second)
	for key, at := range map[string]time.Duration{
		"opens_at": -24 * time.Hour, "submission_deadline": 30 * 24 * time.Hour, "endorsement_deadline": 60 * 24 * time.Hour,
		"evaluation_deadline": 90 * 24 * time.Hour, "announcement_at": 120 * 24 * time.Hour,
	} {
		call[key] = now.Add(at).Format(time.RFC3339)
	}
	return call
}

func durCallBody(id string) map[string]any {
	b := callBody(id)
	slot := func(id, en, fr string, files int, required bool, types ...string) map[string]any {
		return map[string]any{"id": id, "title": map[string]string{"en": en, "fr": fr}, "types": types,
			"max_bytes": 1_000_000, "files": files, "required": required}
	}
	b["attachments"] = []map[string]any{
		slot("letter", "Letter from the Mayor", "Lettre du maire", 1, true, "pdf"),
		slot("photos", "Photos", "Photos", 3, false, "jpeg", "png"),
		slot("annex", "Annexes", "Annexes", 2, false, "pdf"),
	}
	b["max_attachment_bytes"] = 5_000_000
	return b
}

// durAttachment is a file of a dossier as the API shows it.
type durAttachment struct {
	Slot   string `json:"slot"`
	N      int    `json:"n"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// durDossier is a dossier with its files, as the API shows it.
type durDossier struct {
	ID          string          `json:"id"`
	State       string          `json:"state"`
	Version     int             `json:"version"`
	Attachments []durAttachment `json:"attachments"`
}

// durUploadRequest is POST /api/v1/applications/{id}/attachments/{slot}
// with the file as the multipart part "file", as a browser's form sends it.
func durUploadRequest(tb testing.TB, base, token, id, slot, name string, content []byte) *http.Request {
	tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	if err == nil {
		_, err = part.Write(content)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest("POST", base+"/api/v1/applications/"+id+"/attachments/"+slot, &body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// durUpload uploads a file that must be accepted (201) and returns the
// dossier at its next version, which must list the file under its digest.
func durUpload(tb testing.TB, client *http.Client, base, token, id, slot, name string, content []byte) durDossier {
	tb.Helper()
	resp, err := client.Do(durUploadRequest(tb, base, token, id, slot, name, content))
	if err != nil {
		tb.Fatalf("upload %s to %s of %s: %v", name, slot, id, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("upload %s to %s of %s: status %d, want 201; body %s", name, slot, id, resp.StatusCode, raw)
	}
	var d durDossier
	if err := json.Unmarshal(raw, &d); err != nil {
		tb.Fatalf("upload %s: decode %s: %v", name, raw, err)
	}
	if !d.holds(slot, durDigest(content)) {
		tb.Fatalf("upload %s to %s: the dossier %s does not list it with its digest %s", name, slot, raw, durDigest(content))
	}
	return d
}

// holds reports whether the dossier lists the content with the digest in the slot.
func (d durDossier) holds(slot, digest string) bool {
	for _, at := range d.Attachments {
		if at.Slot == slot && at.SHA256 == digest {
			return true
		}
	}
	return false
}

// durDownload reads a file of a dossier through the API.
func durDownload(tb testing.TB, client *http.Client, base, token, id string, at durAttachment) []byte {
	tb.Helper()
	req, err := http.NewRequest("GET", base+"/api/v1/applications/"+id+"/attachments/"+at.Slot+"/"+strconv.Itoa(at.N), nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("download %s %d of %s: %v", at.Slot, at.N, id, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != 200 {
		tb.Fatalf("download %s %d of %s: status %d; body %s", at.Slot, at.N, id, resp.StatusCode, raw)
	}
	return raw
}

// durDigest is the lower-case hex SHA-256 a file is kept under.
func durDigest(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// durKeptPath is where the data directory keeps the content with the digest.
func durKeptPath(data, digest string) string {
	return filepath.Join(data, "files", "sha256", digest[:2], digest)
}

// durPNG is a small PNG that differs with seed.
func durPNG(tb testing.TB, seed int) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40+seed, 30))
	for y := range 30 {
		for x := range 40 + seed {
			img.Set(x, y, color.NRGBA{uint8(x * 6), uint8(y * 8), uint8(seed * 50), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// durFile is a file of a directory tree as the disk holds it.
type durFile struct {
	Content []byte
	Mode    fs.FileMode
	ModTime time.Time
}

// durTree reads every file and directory under root, by slash path
// relative to root ("" is root itself; directories have no content).
func durTree(tb testing.TB, root string) map[string]durFile {
	tb.Helper()
	tree := map[string]durFile{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := durFile{Mode: info.Mode(), ModTime: info.ModTime()}
		if !d.IsDir() {
			if f.Content, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		tree[rel] = f
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return tree
}

// durTreeDiff describes how two trees differ, or "" when they hold the same
// paths with the same content (and, when withMeta, the files' modes and
// times; a directory's time changes whenever an entry comes or goes).
func durTreeDiff(before, after map[string]durFile, withMeta bool) string {
	var b strings.Builder
	for p, f := range before {
		g, ok := after[p]
		switch {
		case !ok:
			b.WriteString("gone: " + p + "\n")
		case !bytes.Equal(f.Content, g.Content):
			b.WriteString("content changed: " + p + "\n")
		case withMeta && !f.Mode.IsDir() && (f.Mode != g.Mode || !f.ModTime.Equal(g.ModTime)):
			b.WriteString("mode or time changed: " + p + "\n")
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			b.WriteString("new: " + p + "\n")
		}
	}
	return b.String()
}

// durKept is the content of every kept file of a data directory, by digest,
// checking that each is named by its own digest in its fan-out directory.
func durKept(tb testing.TB, data string) map[string][]byte {
	tb.Helper()
	kept := map[string][]byte{}
	for p, f := range durTree(tb, filepath.Join(data, "files", "sha256")) {
		if f.Mode.IsDir() {
			continue
		}
		digest := filepath.Base(p)
		if p != digest[:min(2, len(digest))]+"/"+digest {
			tb.Fatalf("%s: a kept file outside its fan-out directory", p)
		}
		kept[digest] = f.Content
	}
	return kept
}

// durProblems are the problem lines of `designate check`: "file <digest>
// [of dossier <id>]: <problem>", by digest.
func durProblems(tb testing.TB, out string) map[string]string {
	tb.Helper()
	problems := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "file ")
		if !ok {
			continue
		}
		digest, _, _ := strings.Cut(rest, " ")
		digest = strings.TrimSuffix(digest, ":")
		if _, dup := problems[digest]; dup {
			tb.Fatalf("check reported %s twice:\n%s", digest, out)
		}
		problems[digest] = line
	}
	return problems
}
