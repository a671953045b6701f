package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// Dossier attachments through the real server: the slots' rules, what a bad
// file gets (a refusal keyed by its slot, and nothing stored: no record, no
// kept file, nothing left in staging), the receipt's digest over the files,
// downloads as a client sees them, and who may read them. Every helper here
// starts with "att", so that it cannot collide with the other attachment
// tests' helpers.

// The attachment tests' call: up to three photos (all three required), one
// required letter, up to two optional extras, and a dossier total small
// enough to reach.
const (
	attPhotoMax  = 60_000
	attLetterMax = 40_000
	attExtraMax  = 60_000
	attTotalMax  = 100_000
)

// attCallBody is callBody with the attachment tests' slots.
func attCallBody(id string) map[string]any {
	b := callBody(id)
	slot := func(id, en, fr string, types []string, maxBytes, files int, required bool) map[string]any {
		return map[string]any{"id": id, "title": map[string]string{"en": en, "fr": fr}, "types": types,
			"max_bytes": maxBytes, "files": files, "required": required}
	}
	b["attachments"] = []map[string]any{
		slot("photos", "Photos of the city", "Photos de la ville", []string{"jpeg"}, attPhotoMax, 3, true),
		slot("letter", "Letter from the Mayor", "Lettre du maire", []string{"pdf"}, attLetterMax, 1, true),
		slot("extra", "Further material", "Documents complémentaires", []string{"pdf", "png"}, attExtraMax, 2, false),
	}
	b["max_attachment_bytes"] = attTotalMax
	return b
}

// attItem is one file of GET /api/v1/applications/{id}/attachments.
type attItem struct {
	Slot       string    `json:"slot"`
	N          int       `json:"n"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	MediaType  string    `json:"media_type"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	Width      int       `json:"width"`
	Height     int       `json:"height"`
	UploadedAt time.Time `json:"uploaded_at"`
	URL        string    `json:"url"`
}

// attSHA is the lower-case hex SHA-256 of b.
func attSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// --- Files, built here -----------------------------------------------------

// attPDF is a small valid PDF that differs with tag.
func attPDF(tag string) []byte { return demoPDF("Designate attachment test", tag) }

// attPDFSized is a valid PDF of exactly size bytes: text lines up to about
// a kilobyte short of it, then the end-of-line padding readers ignore after
// %%EOF.
func attPDFSized(tb testing.TB, tag string, size int) []byte {
	tb.Helper()
	// Longer lines for larger files, so that a megabyte is a few thousand
	// lines, not tens of thousands.
	line := strings.Repeat("A creative city puts culture at the heart of its plans. ", 1+size/200_000) + tag
	lines := []string{tag}
	base := len(demoPDF(lines...))
	per := len(demoPDF(tag, line)) - base
	pdf := demoPDF(lines...)
	for k := (size - 1000 - len(pdf)) / per; k > 0; k = (size - 1000 - len(pdf)) / per {
		for range k {
			lines = append(lines, line)
		}
		pdf = demoPDF(lines...)
	}
	pad := size - len(pdf)
	if pad < 0 || pad > 1500 {
		tb.Fatalf("attPDFSized(%d): a %d-byte PDF needs %d bytes of padding", size, len(pdf), pad)
	}
	pdf = append(pdf, bytes.Repeat([]byte("\n"), pad)...)
	if len(pdf) != size {
		tb.Fatalf("attPDFSized(%d): %d bytes", size, len(pdf))
	}
	return pdf
}

// attNoiseJPEG is a w×h JPEG of noise, which compresses badly: a large file.
func attNoiseJPEG(w, h int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.UintN(256))
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // encoding into memory does not fail
	}
	return b.Bytes()
}

// attPNG is a w×h PNG that differs with seed.
func attPNG(tb testing.TB, w, h, seed int) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x*7 + seed*30), uint8(y*5 + seed*11), uint8(seed * 60), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// attJPEGBomb is a small valid JPEG whose frame header (SOF0) claims
// 60000×60000 pixels: decoded, it would need gigabytes.
func attJPEGBomb(tb testing.TB) []byte {
	tb.Helper()
	b := bytes.Clone(demoJPEG(16, 16, 1))
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 || i+9 > len(b) {
		tb.Fatal("the test JPEG has no SOF0 marker")
	}
	// FF C0, length (2), precision (1), height (2), width (2).
	if h, w := binary.BigEndian.Uint16(b[i+5:]), binary.BigEndian.Uint16(b[i+7:]); h != 16 || w != 16 {
		tb.Fatalf("SOF0 says %d×%d, want 16×16", w, h)
	}
	binary.BigEndian.PutUint16(b[i+5:], 60000)
	binary.BigEndian.PutUint16(b[i+7:], 60000)
	return b
}

// attPNGBomb is a small valid PNG whose IHDR claims 60000×60000 pixels,
// with the chunk's CRC recomputed so that only the size is a lie.
func attPNGBomb(tb testing.TB) []byte {
	tb.Helper()
	b := bytes.Clone(attPNG(tb, 16, 16, 1))
	// Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4),
	// depth, colour, compression, filter, interlace (5), CRC (4).
	if string(b[12:16]) != "IHDR" {
		tb.Fatal("the test PNG does not start with IHDR")
	}
	binary.BigEndian.PutUint32(b[16:], 60000)
	binary.BigEndian.PutUint32(b[20:], 60000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// --- Requests, as clients send them ----------------------------------------

// attEscape quotes a file name for a Content-Disposition header as
// mime/multipart does (and curl): backslash and double quote escaped.
var attEscape = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// attMultipart is a multipart/form-data body with one part whose
// Content-Disposition is exactly disposition, and its Content-Type.
func attMultipart(tb testing.TB, disposition string, data []byte) ([]byte, string) {
	tb.Helper()
	body, ct, err := attForm(disposition, data)
	if err != nil {
		tb.Fatal(err)
	}
	return body, ct
}

// attForm is attMultipart returning an error instead of failing the test.
func attForm(disposition string, data []byte) ([]byte, string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", disposition)
	h.Set("Content-Type", "application/octet-stream")
	part, err := mw.CreatePart(h)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	return body.Bytes(), mw.FormDataContentType(), err
}

// attFilePart is the Content-Disposition of the form part "file" named name.
func attFilePart(name string) string {
	return `form-data; name="file"; filename="` + attEscape.Replace(name) + `"`
}

// attSend sends body with its Content-Type and the holder of token's
// bearer token (none for ""), plus the headers in extra.
func attSend(tb testing.TB, tm *TestMain, method, path, token string, body []byte, contentType string, extra map[string]string) *Response {
	tb.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	for k, v := range extra {
		h[k] = v
	}
	return sendRaw(tb, tm, method, path, body, h)
}

// attPostFile sends the file as a browser's form does, the multipart part
// "file" named name: POST …/attachments/{slot} adds it, PUT
// …/attachments/{slot}/{n} replaces file n.
func attPostFile(tb testing.TB, tm *TestMain, method, path, token, name string, data []byte) *Response {
	tb.Helper()
	body, ct := attMultipart(tb, attFilePart(name), data)
	return attSend(tb, tm, method, path, token, body, ct, nil)
}

// attDecodeDossier decodes a dossier answer as the engine writes it.
func attDecodeDossier(tb testing.TB, r *Response) engine.Application {
	tb.Helper()
	var d engine.Application
	if err := json.Unmarshal(r.Body, &d); err != nil {
		tb.Fatalf("decode dossier %s: %v", r.Body, err)
	}
	return d
}

// attFixture is a server with the attachment tests' call and the complete
// draft of Cannes in it, no file yet.
type attFixture struct {
	*TestMain
	secretariat string
	cannes      *city
	app         string // /api/v1/applications/{id}
}

func newAttFixture(t *testing.T, callID string) *attFixture {
	t.Helper()
	tm := MustRunMain(t, false)
	return newAttFixtureOn(t, tm, callID)
}

func newAttFixtureOn(t *testing.T, tm *TestMain, callID string) *attFixture {
	t.Helper()
	f := &attFixture{TestMain: tm,
		secretariat: tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")}
	tm.MustDo(201, "POST", "/api/v1/calls", f.secretariat, attCallBody(callID), nil)
	f.cannes = tm.newCity("Cannes", "FR", "Film")
	tm.startDossier(f.cannes, callID)
	f.app = "/api/v1/applications/" + f.cannes.Dossier.ID
	tm.MustDo(200, "PUT", f.app, f.cannes.Token, completeDraft(1, "Cannes"), &f.cannes.Dossier)
	return f
}

// get is the dossier as its city reads it.
func (f *attFixture) get() engine.Application {
	f.tb.Helper()
	return attDecodeDossier(f.tb, f.MustSend("GET", f.app, f.cannes.Token, nil))
}

// upload sends a file to a slot as a multipart form; it must be accepted:
// 201, the dossier at its next version listing the file with its digest as
// the last of its slot, and a Location that is that file's address.
func (f *attFixture) upload(slot, name string, data []byte) engine.Application {
	f.tb.Helper()
	prev := f.get()
	r := attPostFile(f.tb, f.TestMain, "POST", f.app+"/attachments/"+slot, f.cannes.Token, name, data)
	return f.mustAccepted(r, 201, prev, slot, name, data)
}

// mustAccepted checks an accepted upload's answer.
func (f *attFixture) mustAccepted(r *Response, status int, prev engine.Application, slot, name string, data []byte) engine.Application {
	f.tb.Helper()
	if r.Status != status {
		f.tb.Fatalf("upload %q to %s: status %d, want %d; body %s", name, slot, r.Status, status, r.Body)
	}
	d := attDecodeDossier(f.tb, r)
	if d.ID != prev.ID || d.State != engine.Draft || d.Version != prev.Version+1 {
		f.tb.Fatalf("upload %q to %s: dossier %s %s v%d, want the draft at v%d", name, slot, d.ID, d.State, d.Version, prev.Version+1)
	}
	var at *engine.Attachment
	last := 0
	for i := range d.Attachments {
		if d.Attachments[i].Slot == slot {
			last = d.Attachments[i].N
			if d.Attachments[i].SHA256 == attSHA(data) {
				at = &d.Attachments[i]
			}
		}
	}
	if at == nil || at.Name != name || at.Size != int64(len(data)) {
		f.tb.Fatalf("upload %q to %s: the dossier lists %+v; want the file named so, with %d bytes and digest %s", name, slot, d.Attachments, len(data), attSHA(data))
	}
	if status == 201 {
		want := fmt.Sprintf("%s/attachments/%s/%d", f.app, slot, at.N)
		if at.N != last {
			f.tb.Errorf("upload %q to %s: the new file is %d of the slot, not its last (%d)", name, slot, at.N, last)
		}
		if loc := r.Header.Get("Location"); loc != want {
			f.tb.Errorf("upload %q to %s: Location %q, want %q", name, slot, loc, want)
		}
	}
	return d
}

// attList is the dossier's files as the holder of token reads them.
func attList(tb testing.TB, tm *TestMain, app, token string) []attItem {
	tb.Helper()
	var l struct{ Items []attItem }
	tm.MustDo(200, "GET", app+"/attachments", token, nil, &l)
	return l.Items
}

// attStored is what the disk holds under <data>/files: the kept files (by
// path under sha256/) and anything in staging.
type attStored struct {
	kept    map[string][]byte
	staging []string
}

func attDisk(tb testing.TB, tm *TestMain) attStored {
	tb.Helper()
	root := filepath.Join(tm.Config.Data, "files")
	s := attStored{kept: map[string][]byte{}}
	walk := func(dir string, fn func(rel string, p string)) {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(filepath.Join(root, dir), p)
			fn(filepath.ToSlash(rel), p)
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	walk("sha256", func(rel, p string) {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		s.kept[rel] = b
	})
	walk("staging", func(rel, _ string) { s.staging = append(s.staging, rel) })
	return s
}

// attState is everything a refused upload must leave as it was: the
// database (but the audit log), the kept files, and an empty staging area.
type attState struct {
	db   map[string]map[string]string
	disk attStored
}

func attSnapshot(tb testing.TB, tm *TestMain) attState {
	tb.Helper()
	return attState{db: dumpDB(tb, tm), disk: attDisk(tb, tm)}
}

// attMustStoreNothing fails unless the database and the files are as they
// were in before, and nothing is left in staging.
func attMustStoreNothing(tb testing.TB, tm *TestMain, what string, before attState) {
	tb.Helper()
	mustSameDB(tb, what, before.db, dumpDB(tb, tm))
	after := attDisk(tb, tm)
	if len(after.staging) != 0 {
		tb.Errorf("%s: left in staging: %v", what, after.staging)
	}
	if got, was := slices.Sorted(maps.Keys(after.kept)), slices.Sorted(maps.Keys(before.disk.kept)); !slices.Equal(got, was) {
		tb.Errorf("%s: kept files %v, before %v", what, got, was)
	}
}

// attMustRefuse checks a refusal as a client reads it: the status, the
// code, and exactly the per-field keys wanted, each with a message that
// contains hint (when not ""). Returns the error.
func attMustRefuse(tb testing.TB, what string, r *Response, status int, code string, fields []string, hint string) APIError {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("%s: status %d, want %d %s; body %s", what, r.Status, status, code, r.Body)
	}
	e := MustAPIError(tb, r, status, code)
	if got := fieldNames(e); !slices.Equal(got, fields) {
		tb.Errorf("%s: fields %v, want %v; body %s", what, got, fields, r.Body)
	}
	for _, k := range fields {
		if hint != "" && !strings.Contains(e.Error.Fields[k], hint) {
			tb.Errorf("%s: message for %s is %q; want it to say %q", what, k, e.Error.Fields[k], hint)
		}
	}
	return e
}

// --- The slots' rules ------------------------------------------------------

// A city adds files to its draft as a form, as a raw body named by ?name=
// or by a Content-Disposition header; the list tells each file's size,
// type, digest and, for images, pixels; each slot holds at most its count,
// never the same file twice, files within its size, and the dossier within
// its total. Each refusal stores nothing.
func TestAttachments_SlotsTakeFilesWithinTheirRules(t *testing.T) {
	f := newAttFixture(t, "att-rules")
	tok, app := f.cannes.Token, f.app
	v := f.get().Version

	// A letter one byte over its slot's limit: 413, keyed by the slot, and
	// the limit named; nothing stored.
	before := attSnapshot(t, f.TestMain)
	saved := f.Raw(app, tok)
	r := attPostFile(t, f.TestMain, "POST", app+"/attachments/letter", tok, "letter.pdf", attPDFSized(t, "big", attLetterMax+1))
	attMustRefuse(t, "a letter over 40 kB", r, 413, "too_large", []string{"attachments.letter"}, "40 kB")
	attMustStoreNothing(t, f.TestMain, "a letter over 40 kB", before)
	f.MustUnchanged(app, tok, saved)

	// A photo over its slot's limit: 413 as well.
	big := attNoiseJPEG(400, 300, 7)
	if len(big) <= attPhotoMax {
		t.Fatalf("the noisy photo has %d bytes; the test needs more than %d", len(big), attPhotoMax)
	}
	r = attPostFile(t, f.TestMain, "POST", app+"/attachments/photos", tok, "noise.jpg", big)
	attMustRefuse(t, "a photo over 60 kB", r, 413, "too_large", []string{"attachments.photos"}, "60 kB")
	attMustStoreNothing(t, f.TestMain, "a photo over 60 kB", before)
	f.MustUnchanged(app, tok, saved)

	// Accepted: a form upload, a raw body named by ?name=, and the letter
	// at exactly its limit as a raw body named by Content-Disposition (RFC
	// 2231, UTF-8).
	photo1, photo2 := demoJPEG(64, 48, 1), demoJPEG(80, 60, 2)
	letter := attPDFSized(t, "letter", attLetterMax)
	d := f.upload("photos", "Place de la Castre.jpg", photo1)
	if d.Version != v+1 {
		t.Fatalf("after one upload: v%d, want v%d", d.Version, v+1)
	}
	name2 := "Façade de l’hôtel de ville #2.jpeg"
	r = attSend(t, f.TestMain, "POST", app+"/attachments/photos?name="+url.QueryEscape(name2), tok, photo2, "image/jpeg", nil)
	d = f.mustAccepted(r, 201, d, "photos", name2, photo2)
	r = attSend(t, f.TestMain, "POST", app+"/attachments/letter", tok, letter, "application/pdf",
		map[string]string{"Content-Disposition": `attachment; filename*=UTF-8''Lettre%20du%20maire%20%C3%A0%20l%27UNESCO.pdf`})
	d = f.mustAccepted(r, 201, d, "letter", "Lettre du maire à l'UNESCO.pdf", letter)
	if d.Version != v+3 {
		t.Fatalf("after three uploads: v%d, want v%d", d.Version, v+3)
	}

	// The list, as the city reads it: each file's facts, in slot order, its
	// content kept under its digest, its address downloading it.
	want := []attItem{
		{Slot: "photos", N: 1, Name: "Place de la Castre.jpg", Type: "jpeg", MediaType: "image/jpeg", Size: int64(len(photo1)), SHA256: attSHA(photo1), Width: 64, Height: 48},
		{Slot: "photos", N: 2, Name: name2, Type: "jpeg", MediaType: "image/jpeg", Size: int64(len(photo2)), SHA256: attSHA(photo2), Width: 80, Height: 60},
		{Slot: "letter", N: 1, Name: "Lettre du maire à l'UNESCO.pdf", Type: "pdf", MediaType: "application/pdf", Size: attLetterMax, SHA256: attSHA(letter)},
	}
	content := [][]byte{photo1, photo2, letter}
	list := attList(t, f.TestMain, app, tok)
	if len(list) != len(want) {
		t.Fatalf("list has %d files, want %d: %+v", len(list), len(want), list)
	}
	disk := attDisk(t, f.TestMain)
	for i, got := range list {
		w := want[i]
		w.URL = fmt.Sprintf("%s/attachments/%s/%d", app, w.Slot, w.N)
		w.UploadedAt = got.UploadedAt
		if got != w {
			t.Errorf("file %d listed as\n  %+v\nwant\n  %+v", i, got, w)
		}
		if !got.UploadedAt.Equal(testStart) {
			t.Errorf("file %d uploaded_at %v, want the clock's %v", i, got.UploadedAt, testStart)
		}
		kept := disk.kept[got.SHA256[:2]+"/"+got.SHA256]
		if !bytes.Equal(kept, content[i]) {
			t.Errorf("file %d: <data>/files/sha256/%s/%s holds %d bytes, not the upload's", i, got.SHA256[:2], got.SHA256, len(kept))
		}
		dl := f.MustSend("GET", got.URL, tok, nil)
		if dl.Status != 200 || !bytes.Equal(dl.Body, content[i]) {
			t.Errorf("GET %s: status %d, %d bytes; want the %d uploaded", got.URL, dl.Status, len(dl.Body), len(content[i]))
		}
	}
	if len(disk.kept) != 3 || len(disk.staging) != 0 {
		t.Errorf("disk holds %d kept files and %v in staging; want 3 and nothing", len(disk.kept), disk.staging)
	}
	// The dossier shows the same files.
	if got := f.get().Attachments; len(got) != 3 || got[0].SHA256 != list[0].SHA256 || got[2].SHA256 != list[2].SHA256 {
		t.Errorf("the dossier's attachments %+v differ from the list", got)
	}

	// The same photo again, under another name: three copies of one photo
	// are not three photos.
	before, saved = attSnapshot(t, f.TestMain), f.Raw(app, tok)
	r = attPostFile(t, f.TestMain, "POST", app+"/attachments/photos", tok, "copy of the Castre.jpg", photo1)
	attMustRefuse(t, "the same photo twice", r, 409, "conflict", []string{"attachments.photos"}, "same file")
	attMustStoreNothing(t, f.TestMain, "the same photo twice", before)
	f.MustUnchanged(app, tok, saved)

	// The letter slot holds one file: a second is a conflict.
	r = attPostFile(t, f.TestMain, "POST", app+"/attachments/letter", tok, "another letter.pdf", attPDF("another"))
	attMustRefuse(t, "a second letter", r, 409, "conflict", []string{"attachments.letter"}, "replace or delete")
	attMustStoreNothing(t, f.TestMain, "a second letter", before)
	f.MustUnchanged(app, tok, saved)

	// The third photo fills the slot; a fourth is a conflict.
	photo3 := demoJPEG(48, 64, 3)
	d = f.upload("photos", "Croisette.jpg", photo3)
	before, saved = attSnapshot(t, f.TestMain), f.Raw(app, tok)
	r = attPostFile(t, f.TestMain, "POST", app+"/attachments/photos", tok, "one more.jpg", demoJPEG(50, 50, 4))
	attMustRefuse(t, "a fourth photo", r, 409, "conflict", []string{"attachments.photos"}, "3 file(s)")
	attMustStoreNothing(t, f.TestMain, "a fourth photo", before)
	f.MustUnchanged(app, tok, saved)

	// The dossier's total: an extra that fits its slot but not what is left
	// of the total is refused; one of exactly what is left is accepted.
	var total int64
	for _, at := range d.Attachments {
		total += at.Size
	}
	left := attTotalMax - int(total)
	if left >= attExtraMax || left < 2000 {
		t.Fatalf("%d bytes left of the total: the test needs between 2000 and %d", left, attExtraMax)
	}
	r = attPostFile(t, f.TestMain, "POST", app+"/attachments/extra", tok, "programme.pdf", attPDFSized(t, "programme", left+1))
	attMustRefuse(t, "an extra over the dossier's total", r, 413, "too_large", []string{"attachments.extra"}, "total")
	attMustStoreNothing(t, f.TestMain, "an extra over the dossier's total", before)
	f.MustUnchanged(app, tok, saved)
	exact := attPDFSized(t, "programme", left)
	d = f.upload("extra", "programme.pdf", exact)
	// At the total, even the smallest file is refused, before it is read.
	before, saved = attSnapshot(t, f.TestMain), f.Raw(app, tok)
	r = attPostFile(t, f.TestMain, "POST", app+"/attachments/extra", tok, "tiny.png", attPNG(t, 2, 2, 1))
	attMustRefuse(t, "an extra once the total is reached", r, 413, "too_large", []string{"attachments.extra"}, "100 kB")
	attMustStoreNothing(t, f.TestMain, "an extra once the total is reached", before)
	f.MustUnchanged(app, tok, saved)

	// A replacement counts the file it replaces out of the total: the
	// programme may be replaced by one of its size, not one byte more.
	r = attPostFile(t, f.TestMain, "PUT", app+"/attachments/extra/1", tok, "programme.pdf", attPDFSized(t, "programme, revised", left+1))
	attMustRefuse(t, "a replacement over the dossier's total", r, 413, "too_large", []string{"attachments.extra"}, "total")
	attMustStoreNothing(t, f.TestMain, "a replacement over the dossier's total", before)
	r = attPostFile(t, f.TestMain, "PUT", app+"/attachments/letter/1", tok, "letter.pdf", attPDFSized(t, "letter, revised", attLetterMax+1))
	attMustRefuse(t, "a replacement over the slot's limit", r, 413, "too_large", []string{"attachments.letter"}, "40 kB")
	attMustStoreNothing(t, f.TestMain, "a replacement over the slot's limit", before)
	f.MustUnchanged(app, tok, saved)
	revised := attPDFSized(t, "programme, revised", left)
	r = attPostFile(t, f.TestMain, "PUT", app+"/attachments/extra/1", tok, "programme, revised.pdf", revised)
	d = f.mustAccepted(r, 200, d, "extra", "programme, revised.pdf", revised)
	before, saved = attSnapshot(t, f.TestMain), f.Raw(app, tok)

	// A slot the call does not have, and files a slot does not hold: 404,
	// whatever the method; nothing stored.
	for _, c := range []struct{ method, path string }{
		{"POST", "/attachments/video"},
		{"GET", "/attachments/video/1"},
		{"PUT", "/attachments/video/1"},
		{"DELETE", "/attachments/video/1"},
		{"GET", "/attachments/photos/4"},
		{"PUT", "/attachments/photos/4"},
		{"DELETE", "/attachments/photos/4"},
		{"GET", "/attachments/photos/0"},
		{"DELETE", "/attachments/letter/x"},
		{"GET", "/attachments/letter/-1"},
	} {
		body, ct := attMultipart(t, attFilePart("clip.jpg"), demoJPEG(20, 20, 9))
		r := attSend(t, f.TestMain, c.method, app+c.path, tok, body, ct, nil)
		attMustRefuse(t, c.method+" "+c.path, r, 404, "not_found", nil, "")
		attMustStoreNothing(t, f.TestMain, c.method+" "+c.path, before)
	}
	f.MustUnchanged(app, tok, saved)
	if got := f.get(); got.Version != d.Version || len(got.Attachments) != 5 {
		t.Fatalf("after the refusals: v%d with %d files, want v%d with 5", got.Version, len(got.Attachments), d.Version)
	}
}

// --- Submission and its receipt --------------------------------------------

// Submission needs every required slot full, and names each one short; the
// receipt's digest is engine.SubmissionDigest of the dossier as the API
// shows it, files included; a submitted dossier's files are frozen; a
// retraction opens them again, and a changed file changes the digest.
func TestAttachments_SubmissionChecksTheSlotsAndDigestsTheFiles(t *testing.T) {
	f := newAttFixture(t, "att-submit")
	tok, app := f.cannes.Token, f.app
	commission := f.MustUser("commission@fr.example.org", engine.RoleCommission, "FR", "")
	submit := func(version int) *Response {
		return f.MustSend("POST", app+"/transitions", tok, map[string]any{"event": "submit", "version": version})
	}

	// One photo of three and no letter: 422, one message per slot short,
	// none for the optional extra.
	d := f.upload("photos", "one.jpg", demoJPEG(64, 48, 1))
	saved := f.Raw(app, tok)
	e := attMustRefuse(t, "submit short of files", submit(d.Version), 422, "incomplete", []string{"attachments.letter", "attachments.photos"}, "")
	if m := e.Error.Fields["attachments.photos"]; !strings.Contains(m, "3") || !strings.Contains(m, "1") || !strings.Contains(m, "Photos of the city") {
		t.Errorf("photos message %q: want the slot's title, the 3 it needs and the 1 it has", m)
	}
	if m := e.Error.Fields["attachments.letter"]; !strings.Contains(m, "Letter from the Mayor") || !strings.Contains(m, "required") {
		t.Errorf("letter message %q: want the slot's title and that it is required", m)
	}
	f.MustUnchanged(app, tok, saved)

	// Two photos of three and the letter: the photos alone are short.
	f.upload("photos", "two.jpg", demoJPEG(64, 48, 2))
	d = f.upload("letter", "letter.pdf", attPDFSized(t, "Cannes", 5000))
	attMustRefuse(t, "submit one photo short", submit(d.Version), 422, "incomplete", []string{"attachments.photos"}, "has 2")

	// All required files: submitted, with the receipt's digest.
	photos := [][]byte{demoJPEG(64, 48, 1), demoJPEG(64, 48, 2), demoJPEG(64, 48, 3)}
	d = f.upload("photos", "three.jpg", photos[2])
	r := submit(d.Version)
	if r.Status != 200 {
		t.Fatalf("submit with every file: %d %s", r.Status, r.Body)
	}
	sub := attDecodeDossier(t, r)
	if sub.State != engine.Submitted || sub.Version != d.Version+1 || len(sub.SubmissionDigest) != 64 {
		t.Fatalf("submitted: %s v%d digest %q", sub.State, sub.Version, sub.SubmissionDigest)
	}
	// Anyone holding the dossier as the API shows it recomputes the digest:
	// the city and its commission alike.
	for who, token := range map[string]string{"the city": tok, "the commission": commission} {
		shown := attDecodeDossier(t, f.MustSend("GET", app, token, nil))
		if len(shown.Attachments) != 4 {
			t.Fatalf("as %s: %d files, want 4", who, len(shown.Attachments))
		}
		if got := engine.SubmissionDigest(&shown); got != sub.SubmissionDigest || shown.SubmissionDigest != sub.SubmissionDigest {
			t.Errorf("as %s: submission_digest %q, recomputed %q; the submission answered %q", who, shown.SubmissionDigest, got, sub.SubmissionDigest)
		}
		// The digest covers the files as uploaded: their digests are the
		// bytes'.
		for i, at := range shown.Attachments[:3] {
			if at.Slot != "photos" || at.SHA256 != attSHA(photos[i]) {
				t.Errorf("as %s: file %d is %s %s, want photo %d with digest %s", who, i, at.Slot, at.SHA256, i+1, attSHA(photos[i]))
			}
		}
	}
	digest1 := sub.SubmissionDigest

	// Submitted: every change of files is an invalid transition, and
	// nothing changes, on the disk either.
	before, saved := attSnapshot(t, f.TestMain), f.Raw(app, tok)
	savedList := f.Raw(app+"/attachments", tok)
	for _, c := range []struct {
		method, path, name string
		data               []byte
	}{
		{"POST", app + "/attachments/extra", "late.pdf", attPDF("late")},
		{"POST", app + "/attachments/extra?version=" + strconv.Itoa(sub.Version), "late.pdf", attPDF("late")},
		{"PUT", app + "/attachments/photos/1", "better.jpg", demoJPEG(64, 48, 4)},
		{"PUT", app + "/attachments/letter/1", "signed.pdf", attPDF("signed")},
		{"DELETE", app + "/attachments/photos/2", "", nil},
		{"DELETE", app + "/attachments/letter/1?version=" + strconv.Itoa(sub.Version), "", nil},
	} {
		var r *Response
		if c.data != nil {
			r = attPostFile(t, f.TestMain, c.method, c.path, tok, c.name, c.data)
		} else {
			r = f.MustSend(c.method, c.path, tok, nil)
		}
		what := c.method + " " + c.path + " on a submitted dossier"
		e := attMustRefuse(t, what, r, 409, "invalid_transition", nil, "")
		if !strings.Contains(e.Error.Message, "submitted") {
			t.Errorf("%s: message %q does not name the state", what, e.Error.Message)
		}
		attMustStoreNothing(t, f.TestMain, what, before)
	}
	f.MustUnchanged(app, tok, saved)
	f.MustUnchanged(app+"/attachments", tok, savedList)

	// Retracted: the receipt is void, the files may change again.
	var cur Dossier
	f.MustDo(200, "GET", app, tok, nil, &cur)
	f.move(tok, &cur, "retract", "", "draft")
	if got := f.get(); got.SubmissionDigest != "" {
		t.Fatalf("retracted dossier keeps submission_digest %q", got.SubmissionDigest)
	}
	// Submitted again unchanged, the receipt is the same: it depends on the
	// content alone.
	f.move(tok, &cur, "submit", "", "submitted")
	if got := f.get(); got.SubmissionDigest != digest1 {
		t.Fatalf("resubmitted unchanged: digest %q, want the first %q", got.SubmissionDigest, digest1)
	}
	f.move(tok, &cur, "retract", "", "draft")
	// The letter replaced by another of the same name and the same size:
	// only its content differs, and the receipt must tell.
	signed := attPDFSized(t, "Cannes, signed", 5000)
	prev := f.get()
	r = attPostFile(t, f.TestMain, "PUT", app+"/attachments/letter/1", tok, "letter.pdf", signed)
	d = f.mustAccepted(r, 200, prev, "letter", "letter.pdf", signed)
	r = submit(d.Version)
	if r.Status != 200 {
		t.Fatalf("resubmit after replacing a photo: %d %s", r.Status, r.Body)
	}
	resub := attDecodeDossier(t, r)
	shown := f.get()
	if resub.SubmissionDigest == digest1 || resub.SubmissionDigest == "" {
		t.Errorf("resubmitted with another letter: digest %q, the first was %q", resub.SubmissionDigest, digest1)
	}
	if got := engine.SubmissionDigest(&shown); got != resub.SubmissionDigest || shown.SubmissionDigest != resub.SubmissionDigest {
		t.Errorf("after resubmission: shown %q, recomputed %q, answered %q", shown.SubmissionDigest, got, resub.SubmissionDigest)
	}
}

// --- Replace and delete ----------------------------------------------------

// Replacing a file keeps its place and bumps the version; deleting one moves
// the later files up and bumps the version; a stale ?version= is refused on
// every write and stores nothing.
func TestAttachments_ReplaceAndDeleteBumpTheVersion(t *testing.T) {
	f := newAttFixture(t, "att-edit")
	tok, app := f.cannes.Token, f.app
	p1, p2, p3, p4 := demoJPEG(64, 48, 1), demoJPEG(64, 48, 2), demoJPEG(64, 48, 3), demoJPEG(96, 64, 4)
	f.upload("photos", "1.jpg", p1)
	f.upload("photos", "2.jpg", p2)
	f.upload("photos", "3.jpg", p3)
	d := f.upload("letter", "letter.pdf", attPDF("letter"))
	v := d.Version
	q := func(version int) string { return "?version=" + strconv.Itoa(version) }

	// Stale versions: refused, nothing stored, whatever the write.
	before, saved := attSnapshot(t, f.TestMain), f.Raw(app, tok)
	for _, c := range []struct {
		method, path string
		data         []byte
	}{
		{"POST", app + "/attachments/extra" + q(v-1), attPDF("extra")},
		{"PUT", app + "/attachments/photos/2" + q(v-1), p4},
		{"PUT", app + "/attachments/photos/2" + q(v+1), p4},
		{"DELETE", app + "/attachments/photos/1" + q(1), nil},
	} {
		var r *Response
		if c.data != nil {
			r = attPostFile(t, f.TestMain, c.method, c.path, tok, "x.jpg", c.data)
		} else {
			r = f.MustSend(c.method, c.path, tok, nil)
		}
		e := attMustRefuse(t, c.method+" "+c.path, r, 409, "stale_version", nil, "")
		if !strings.Contains(e.Error.Message, strconv.Itoa(v)) {
			t.Errorf("%s %s: message %q does not tell the current version %d", c.method, c.path, e.Error.Message, v)
		}
		attMustStoreNothing(t, f.TestMain, c.method+" "+c.path, before)
	}
	// A version that is not a number is a bad request.
	for _, bad := range []string{"abc", "0", "-3", "2.5"} {
		r := attPostFile(t, f.TestMain, "PUT", app+"/attachments/photos/2?version="+bad, tok, "x.jpg", p4)
		attMustRefuse(t, "PUT ?version="+bad, r, 400, "invalid", []string{"version"}, "")
		r = f.MustSend("DELETE", app+"/attachments/photos/2?version="+bad, tok, nil)
		attMustRefuse(t, "DELETE ?version="+bad, r, 400, "invalid", []string{"version"}, "")
		attMustStoreNothing(t, f.TestMain, "?version="+bad, before)
	}
	// Replacing photo 2 by a copy of photo 1 would hold one photo twice.
	r := attPostFile(t, f.TestMain, "PUT", app+"/attachments/photos/2", tok, "copy.jpg", p1)
	attMustRefuse(t, "replace photo 2 by photo 1", r, 409, "conflict", []string{"attachments.photos"}, "same file")
	attMustStoreNothing(t, f.TestMain, "replace photo 2 by photo 1", before)
	f.MustUnchanged(app, tok, saved)

	// Replace photo 2 at the current version: 200, next version, same place.
	r = attPostFile(t, f.TestMain, "PUT", app+"/attachments/photos/2"+q(v), tok, "2, wider.jpg", p4)
	if r.Status != 200 {
		t.Fatalf("replace at the current version: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Location") != "" {
		t.Errorf("replace answered Location %q: nothing was created", r.Header.Get("Location"))
	}
	d = attDecodeDossier(t, r)
	if d.Version != v+1 {
		t.Fatalf("after a replace: v%d, want v%d", d.Version, v+1)
	}
	list := attList(t, f.TestMain, app, tok)
	got := func() []string {
		var s []string
		for _, it := range list {
			s = append(s, fmt.Sprintf("%s/%d %s %s", it.Slot, it.N, it.Name, it.SHA256[:8]))
		}
		return s
	}
	want := []string{"photos/1 1.jpg " + attSHA(p1)[:8], "photos/2 2, wider.jpg " + attSHA(p4)[:8], "photos/3 3.jpg " + attSHA(p3)[:8], "letter/1 letter.pdf " + attSHA(attPDF("letter"))[:8]}
	if !slices.Equal(got(), want) {
		t.Fatalf("after replacing photo 2: %q, want %q", got(), want)
	}
	if it := list[1]; it.Width != 96 || it.Height != 64 || it.Size != int64(len(p4)) {
		t.Errorf("the replacement is listed %d×%d, %d bytes; want 96×64, %d", it.Width, it.Height, it.Size, len(p4))
	}
	if dl := f.MustSend("GET", app+"/attachments/photos/2", tok, nil); !bytes.Equal(dl.Body, p4) {
		t.Errorf("photo 2 downloads %d bytes, not the replacement", len(dl.Body))
	}
	// A raw body replaces as well, named by ?name=.
	p5 := demoJPEG(64, 64, 5)
	r = attSend(t, f.TestMain, "PUT", app+"/attachments/photos/3?name=3b.jpg&version="+strconv.Itoa(v+1), tok, p5, "image/jpeg", nil)
	d = f.mustAccepted(r, 200, d, "photos", "3b.jpg", p5)

	// Delete photo 1: 200, next version, the others move up one place.
	r = f.MustSend("DELETE", app+"/attachments/photos/1"+q(d.Version), tok, nil)
	if r.Status != 200 {
		t.Fatalf("delete photo 1: %d %s", r.Status, r.Body)
	}
	del := attDecodeDossier(t, r)
	if del.Version != d.Version+1 || del.State != engine.Draft {
		t.Fatalf("after a delete: %s v%d, want draft v%d", del.State, del.Version, d.Version+1)
	}
	list = attList(t, f.TestMain, app, tok)
	want = []string{"photos/1 2, wider.jpg " + attSHA(p4)[:8], "photos/2 3b.jpg " + attSHA(p5)[:8], "letter/1 letter.pdf " + attSHA(attPDF("letter"))[:8]}
	if !slices.Equal(got(), want) {
		t.Fatalf("after deleting photo 1: %q, want %q", got(), want)
	}
	if dl := f.MustSend("GET", app+"/attachments/photos/1", tok, nil); !bytes.Equal(dl.Body, p4) {
		t.Errorf("photo 1 downloads %d bytes, not the former photo 2", len(dl.Body))
	}
	f.MustFail(404, "not_found", "GET", app+"/attachments/photos/3", tok, nil)

	// Without ?version= a delete applies to what is there.
	r = f.MustSend("DELETE", app+"/attachments/letter/1", tok, nil)
	if r.Status != 200 || attDecodeDossier(t, r).Version != del.Version+1 {
		t.Fatalf("delete the letter: %d %s", r.Status, r.Body)
	}
	if got := f.get(); got.Version != del.Version+1 || len(got.Attachments) != 2 {
		t.Fatalf("after deleting the letter: v%d with %d files", got.Version, len(got.Attachments))
	}
	// The slot has room again: a new letter is accepted.
	f.upload("letter", "letter, signed.pdf", attPDF("signed"))
}

// --- Bad input ---------------------------------------------------------------

// Every bad file and every bad name is refused with its status, its code
// and a message keyed by the slot (or the slot's name), and stores nothing:
// the dossier reads back byte for byte, no file is kept, nothing is left in
// staging.
func TestAttachments_BadFilesAreRefusedAndStoreNothing(t *testing.T) {
	f := newAttFixture(t, "att-bad")
	tok, app := f.cannes.Token, f.app
	// One photo, so that every slot has room.
	f.upload("photos", "castre.jpg", demoJPEG(64, 48, 1))

	pdf := attPDF("letter")
	trailer := bytes.LastIndex(pdf, []byte("trailer"))
	jpg := demoJPEG(120, 90, 2)
	pngFile := attPNG(t, 60, 40, 3)
	multi := func(disposition string, data []byte) ([]byte, string) { return attMultipart(t, disposition, data) }
	form := func(name string, data []byte) ([]byte, string) { return multi(attFilePart(name), data) }
	raw := func(data []byte, ct string) func() ([]byte, string) {
		return func() ([]byte, string) { return data, ct }
	}

	cases := []struct {
		name   string
		path   string // after the dossier's path
		body   func() ([]byte, string)
		status int
		code   string
		field  string
		hint   string
	}{
		// Content that is not what its name says.
		{"a PNG named letter.pdf into the PDF slot", "/attachments/letter",
			func() ([]byte, string) { return form("letter.pdf", pngFile) }, 400, "invalid", "attachments.letter", "PNG"},
		{"plain text named photo.jpg", "/attachments/photos",
			func() ([]byte, string) { return form("photo.jpg", []byte("Just some text, not a photo.\n")) }, 400, "invalid", "attachments.photos", "not a PDF, JPEG or PNG"},
		{"HTML named photo.jpg", "/attachments/photos",
			func() ([]byte, string) { return form("photo.jpg", []byte("<html><script>alert(1)</script></html>")) }, 400, "invalid", "attachments.photos", "content was checked"},
		{"a PDF named photo.jpg into the JPEG slot", "/attachments/photos",
			func() ([]byte, string) { return form("photo.jpg", pdf) }, 400, "invalid", "attachments.photos", "PDF"},
		{"a JPEG into the PDF or PNG slot", "/attachments/extra",
			func() ([]byte, string) { return form("scan.png", jpg) }, 400, "invalid", "attachments.extra", "JPEG"},
		// Damaged or cut short.
		{"a PDF without its trailer", "/attachments/letter",
			func() ([]byte, string) { return form("letter.pdf", pdf[:trailer]) }, 400, "invalid", "attachments.letter", "truncated"},
		{"a JPEG cut in half", "/attachments/photos",
			func() ([]byte, string) { return form("half.jpg", jpg[:len(jpg)/2]) }, 400, "invalid", "attachments.photos", "JPEG"},
		{"a PNG cut in half", "/attachments/extra",
			func() ([]byte, string) { return form("half.png", pngFile[:len(pngFile)/2]) }, 400, "invalid", "attachments.extra", "PNG"},
		{"a 0-byte file", "/attachments/letter",
			func() ([]byte, string) { return form("empty.pdf", nil) }, 400, "invalid", "attachments.letter", "empty"},
		{"a 0-byte raw body", "/attachments/letter?name=empty.pdf", raw([]byte{}, "application/pdf"), 400, "invalid", "attachments.letter", "empty"},
		// Decompression bombs: a few hundred bytes claiming 3.6 gigapixels.
		{"a JPEG claiming 60000×60000", "/attachments/photos",
			func() ([]byte, string) { return form("bomb.jpg", attJPEGBomb(t)) }, 400, "invalid", "attachments.photos", "60000×60000"},
		{"a PNG claiming 60000×60000", "/attachments/extra",
			func() ([]byte, string) { return form("bomb.png", attPNGBomb(t)) }, 400, "invalid", "attachments.extra", "60000×60000"},
		// Names: refused, never altered, however they come.
		{"a name with /", "/attachments/letter", func() ([]byte, string) { return form("../../etc/letter.pdf", pdf) },
			400, "invalid", "attachments.letter.name", "/"},
		{"a name with \\", "/attachments/letter", func() ([]byte, string) { return form(`..\..\letter.pdf`, pdf) },
			400, "invalid", "attachments.letter.name", `\`},
		{"a name with \\ as a browser sends it (unescaped)", "/attachments/letter",
			func() ([]byte, string) {
				return multi(`form-data; name="file"; filename="C:\fakepath\letter.pdf"`, pdf)
			},
			400, "invalid", "attachments.letter.name", `\`},
		{"a name with NUL", "/attachments/letter", func() ([]byte, string) {
			return multi(`form-data; name="file"; filename*=UTF-8''letter%00.pdf`, pdf)
		}, 400, "invalid", "attachments.letter.name", "control"},
		{"a name with BEL", "/attachments/letter", func() ([]byte, string) {
			return multi(`form-data; name="file"; filename*=UTF-8''letter%07.pdf`, pdf)
		}, 400, "invalid", "attachments.letter.name", "control"},
		{"a name that is ..", "/attachments/letter", func() ([]byte, string) { return form("..", pdf) },
			400, "invalid", "attachments.letter.name", ""},
		{"an empty name", "/attachments/letter", func() ([]byte, string) { return form("", pdf) },
			400, "invalid", "attachments.letter.name", "required"},
		{"a part without a filename", "/attachments/letter", func() ([]byte, string) { return multi(`form-data; name="file"`, pdf) },
			400, "invalid", "attachments.letter.name", "required"},
		{"a raw body name with /", "/attachments/letter?name=" + url.QueryEscape("a/b.pdf"), raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", "/"},
		{"a raw body name with \\", "/attachments/letter?name=" + url.QueryEscape(`a\b.pdf`), raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", `\`},
		{"a raw body name with NUL", "/attachments/letter?name=letter%00.pdf", raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", "control"},
		{"a raw body name with BEL", "/attachments/letter?name=letter%07.pdf", raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", "control"},
		{"a raw body name with a right-to-left override", "/attachments/letter?name=" + url.QueryEscape("letter\u202Efdp.exe"), raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", "formatting"},
		{"a raw body name ..", "/attachments/letter?name=..", raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", ""},
		{"a raw body name of spaces", "/attachments/letter?name=%20%20", raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", ""},
		{"a raw body name of 256 bytes", "/attachments/letter?name=" + strings.Repeat("a", 252) + ".pdf", raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", "255"},
		{"a raw body name that is not UTF-8", "/attachments/letter?name=letter%FF.pdf", raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", "UTF-8"},
		{"a raw body without a name", "/attachments/letter", raw(pdf, "application/pdf"),
			400, "invalid", "attachments.letter.name", "required"},
		// The form itself.
		{"a form without a \"file\" part", "/attachments/letter",
			func() ([]byte, string) { return multi(`form-data; name="document"; filename="letter.pdf"`, pdf) }, 400, "invalid", "file", "file"},
		{"a form cut short", "/attachments/letter", func() ([]byte, string) {
			b, ct := form("letter.pdf", pdf)
			return b[:len(b)-40], ct
		}, 400, "invalid", "file", ""},
		{"a multipart type without a boundary", "/attachments/letter", raw(pdf, "multipart/form-data"), 400, "invalid", "file", ""},
	}
	admin := f.MustUser("admin@example.org", engine.RoleAdmin, "", "")
	saved, savedList := f.Raw(app, tok), f.Raw(app+"/attachments", tok)
	for _, c := range cases {
		audit := auditSnapshot(t, f.TestMain, admin)
		before := attSnapshot(t, f.TestMain)
		body, ct := c.body()
		r := attSend(t, f.TestMain, "POST", app+c.path, tok, body, ct, nil)
		attMustRefuse(t, c.name, r, c.status, c.code, []string{c.field}, c.hint)
		attMustStoreNothing(t, f.TestMain, c.name, before)
		f.MustUnchanged(app, tok, saved)
		f.MustUnchanged(app+"/attachments", tok, savedList)
		// The admin finds the refusal in the audit log, once.
		events := newAuditEvents(t, audit, auditSnapshot(t, f.TestMain, admin))
		wantPath, _, _ := strings.Cut(app+c.path, "?")
		if len(events) != 1 || events[0].Action != engine.AuditRefused || events[0].Method != "POST" ||
			events[0].Status != c.status || events[0].Code != c.code || events[0].Path != wantPath {
			t.Errorf("%s: audit events %+v; want one refusal of POST %s (%d %s)", c.name, events, wantPath, c.status, c.code)
		}

		// The same file as a replacement of photo 1 (or of nothing, for
		// the other slots) is refused alike.
		if strings.HasPrefix(c.path, "/attachments/photos") {
			path := strings.Replace(c.path, "/attachments/photos", "/attachments/photos/1", 1)
			r := attSend(t, f.TestMain, "PUT", app+path, tok, body, ct, nil)
			attMustRefuse(t, c.name+" (replacing)", r, c.status, c.code, []string{c.field}, c.hint)
			attMustStoreNothing(t, f.TestMain, c.name+" (replacing)", before)
			f.MustUnchanged(app, tok, saved)
		}
	}
	// After all that, good files are still accepted.
	f.upload("letter", "letter.pdf", pdf)
	f.upload("extra", "scan.png", pngFile)
}

// --- Downloads ---------------------------------------------------------------

// A download is exactly the bytes, as an attachment named as uploaded (with
// the extension of what it really is), typed by its content, never sniffed,
// with its digest as ETag; ranges and revalidation work.
func TestAttachments_DownloadIsTheFileAsAnAttachment(t *testing.T) {
	f := newAttFixture(t, "att-download")
	tok, app := f.cannes.Token, f.app
	photo := demoJPEG(200, 150, 1)
	letter := attPDF("Cannes")
	scan := attPNG(t, 30, 20, 2)
	f.upload("photos", "Palais des Festivals.jpg", photo)
	f.upload("letter", "Lettre du maire.pdf", letter)
	// A PNG whose name says PDF: the extra slot takes both, and the
	// content decides.
	f.upload("extra", "scan.pdf", scan)

	for _, c := range []struct {
		path, filename, mediaType string
		data                      []byte
	}{
		{"/attachments/photos/1", "Palais des Festivals.jpg", "image/jpeg", photo},
		{"/attachments/letter/1", "Lettre du maire.pdf", "application/pdf", letter},
		{"/attachments/extra/1", "scan.pdf.png", "image/png", scan},
	} {
		r := f.MustSend("GET", app+c.path, tok, nil)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", c.path, r.Status, r.Body)
		}
		if !bytes.Equal(r.Body, c.data) {
			t.Errorf("GET %s: %d bytes, not the %d uploaded", c.path, len(r.Body), len(c.data))
		}
		if got := r.Header.Get("Content-Type"); got != c.mediaType {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.mediaType)
		}
		disp, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
		if err != nil || disp != "attachment" || params["filename"] != c.filename {
			t.Errorf("GET %s: Content-Disposition %q, want attachment; filename=%q", c.path, r.Header.Get("Content-Disposition"), c.filename)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", c.path, got)
		}
		if got, want := r.Header.Get("ETag"), `"`+attSHA(c.data)+`"`; got != want {
			t.Errorf("GET %s: ETag %q, want %q", c.path, got, want)
		}
		if got := r.Header.Get("Content-Length"); got != strconv.Itoa(len(c.data)) {
			t.Errorf("GET %s: Content-Length %q, want %d", c.path, got, len(c.data))
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
			t.Errorf("GET %s: Content-Security-Policy %q: a file must not run in the site's origin", c.path, csp)
		}
	}
	// The list says what the content is, not what the name said.
	if l := attList(t, f.TestMain, app, tok); l[2].Type != "png" || l[2].MediaType != "image/png" || l[2].Width != 30 || l[2].Height != 20 {
		t.Errorf("the PNG named scan.pdf is listed as %+v", l[2])
	}

	// A range: 206 with exactly that slice; a suffix range; one past the end.
	get := func(header map[string]string) *Response {
		h := map[string]string{"Authorization": "Bearer " + tok}
		for k, v := range header {
			h[k] = v
		}
		return sendRaw(t, f.TestMain, "GET", app+"/attachments/photos/1", nil, h)
	}
	r := get(map[string]string{"Range": "bytes=100-1099"})
	if r.Status != 206 || !bytes.Equal(r.Body, photo[100:1100]) {
		t.Errorf("Range bytes=100-1099: status %d, %d bytes; want 206 and photo[100:1100]", r.Status, len(r.Body))
	}
	if got, want := r.Header.Get("Content-Range"), fmt.Sprintf("bytes 100-1099/%d", len(photo)); got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	r = get(map[string]string{"Range": "bytes=-50"})
	if r.Status != 206 || !bytes.Equal(r.Body, photo[len(photo)-50:]) {
		t.Errorf("Range bytes=-50: status %d, %d bytes; want 206 and the last 50", r.Status, len(r.Body))
	}
	r = get(map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(photo)+10)})
	if r.Status != 416 {
		t.Errorf("a range past the end: status %d, want 416", r.Status)
	}
	// Resuming with If-Range on the ETag gets the slice; on another ETag,
	// the whole (changed) file.
	etag := `"` + attSHA(photo) + `"`
	r = get(map[string]string{"Range": "bytes=0-9", "If-Range": etag})
	if r.Status != 206 || !bytes.Equal(r.Body, photo[:10]) {
		t.Errorf("If-Range with the ETag: status %d, %d bytes", r.Status, len(r.Body))
	}
	r = get(map[string]string{"Range": "bytes=0-9", "If-Range": `"` + attSHA(letter) + `"`})
	if r.Status != 200 || !bytes.Equal(r.Body, photo) {
		t.Errorf("If-Range with another ETag: status %d, %d bytes; want 200 and the whole file", r.Status, len(r.Body))
	}
	// Revalidation: If-None-Match on the ETag is 304 with no body.
	r = get(map[string]string{"If-None-Match": etag})
	if r.Status != 304 || len(r.Body) != 0 {
		t.Errorf("If-None-Match with the ETag: status %d, %d bytes; want 304", r.Status, len(r.Body))
	}
	// Replaced, the file has a new ETag and the old one no longer matches.
	photo2 := demoJPEG(200, 150, 2)
	r = attPostFile(t, f.TestMain, "PUT", app+"/attachments/photos/1", tok, "Palais, by night.jpg", photo2)
	if r.Status != 200 {
		t.Fatalf("replace the photo: %d %s", r.Status, r.Body)
	}
	r = get(map[string]string{"If-None-Match": etag})
	if r.Status != 200 || !bytes.Equal(r.Body, photo2) || r.Header.Get("ETag") != `"`+attSHA(photo2)+`"` {
		t.Errorf("after a replace, If-None-Match with the old ETag: status %d, ETag %q", r.Status, r.Header.Get("ETag"))
	}
	if _, params, _ := mime.ParseMediaType(r.Header.Get("Content-Disposition")); params["filename"] != "Palais, by night.jpg" {
		t.Errorf("after a replace: Content-Disposition %q", r.Header.Get("Content-Disposition"))
	}
}

// Who may read the files: a draft's only its city; once submitted, the
// city, its country's commission, the secretariat and the admin, all the
// same bytes; another city, another country's commission and an evaluator
// not assigned get 404, as if there were nothing; the public 401.
func TestAttachments_WhoMayReadTheFiles(t *testing.T) {
	f := newAttFixture(t, "att-access")
	tok, app := f.cannes.Token, f.app
	admin := f.MustUser("admin@example.org", engine.RoleAdmin, "", "")
	comFR := f.MustUser("commission@fr.example.org", engine.RoleCommission, "FR", "")
	comPT := f.MustUser("commission@pt.example.org", engine.RoleCommission, "PT", "")
	evalCN := f.MustUser("expert@cn.example.org", engine.RoleEvaluator, "CN", "")
	rouen := f.newCity("Rouen", "FR", "Music")
	covilha := f.newCity("Covilhã", "PT", "Design")

	photos := [][]byte{demoJPEG(64, 48, 1), demoJPEG(64, 48, 2), demoJPEG(64, 48, 3)}
	for i, p := range photos {
		f.upload("photos", fmt.Sprintf("photo %d.jpg", i+1), p)
	}
	letter := attPDF("Cannes")
	d := f.upload("letter", "letter.pdf", letter)

	type reader struct {
		name   string
		token  string
		status int
	}
	check := func(stage string, readers []reader) {
		t.Helper()
		for _, rd := range readers {
			for _, path := range []string{"/attachments", "/attachments/letter/1", "/attachments/photos/3"} {
				r := f.MustSend("GET", app+path, rd.token, nil)
				what := fmt.Sprintf("%s: GET %s as %s", stage, path, rd.name)
				switch rd.status {
				case 200:
					if r.Status != 200 {
						t.Errorf("%s: status %d, want 200; body %s", what, r.Status, r.Body)
					} else if path == "/attachments/letter/1" && !bytes.Equal(r.Body, letter) {
						t.Errorf("%s: not the letter's bytes", what)
					} else if path == "/attachments/photos/3" && !bytes.Equal(r.Body, photos[2]) {
						t.Errorf("%s: not photo 3's bytes", what)
					} else if path == "/attachments" {
						var l struct{ Items []attItem }
						if err := json.Unmarshal(r.Body, &l); err != nil || len(l.Items) != 4 || l.Items[3].SHA256 != attSHA(letter) {
							t.Errorf("%s: list %s", what, r.Body)
						}
					}
				case 401:
					MustAPIError(t, r, 401, "unauthorized")
				case 404:
					e := MustAPIError(t, r, 404, "not_found")
					// Nothing in the refusal tells the file exists.
					if strings.Contains(string(r.Body), "letter") || strings.Contains(string(r.Body), "photos") || e.Error.Fields != nil {
						t.Errorf("%s: the 404 says more than not found: %s", what, r.Body)
					}
				}
			}
		}
	}
	// A draft: the city's business only.
	check("draft", []reader{
		{"the city", tok, 200},
		{"the public", "", 401},
		{"another city of the country", rouen.Token, 404},
		{"a city of another country", covilha.Token, 404},
		{"the commission", comFR, 404},
		{"another country's commission", comPT, 404},
		{"an evaluator", evalCN, 404},
		{"the secretariat", f.secretariat, 404},
		{"the admin", admin, 404},
	})
	// Submitted: the city, its commission, the secretariat and the admin.
	var cur Dossier
	f.MustDo(200, "GET", app, tok, nil, &cur)
	if cur.Version != d.Version {
		t.Fatalf("dossier at v%d, want v%d", cur.Version, d.Version)
	}
	f.move(tok, &cur, "submit", "", "submitted")
	check("submitted", []reader{
		{"the city", tok, 200},
		{"the commission", comFR, 200},
		{"the secretariat", f.secretariat, 200},
		{"the admin", admin, 200},
		{"the public", "", 401},
		{"another city of the country", rouen.Token, 404},
		{"a city of another country", covilha.Token, 404},
		{"another country's commission", comPT, 404},
		{"an evaluator not assigned", evalCN, 404},
	})
	// None of those readers may change the files: the commission, the
	// secretariat and the admin see the dossier (403); the others do not
	// (404).
	before, saved := attSnapshot(t, f.TestMain), f.Raw(app, tok)
	for _, w := range []struct {
		name, token string
		status      int
		code        string
	}{
		{"the commission", comFR, 403, "forbidden"},
		{"the secretariat", f.secretariat, 403, "forbidden"},
		{"the admin", admin, 403, "forbidden"},
		{"another city", rouen.Token, 404, "not_found"},
		{"another country's commission", comPT, 404, "not_found"},
		{"an evaluator", evalCN, 404, "not_found"},
		{"the public", "", 401, "unauthorized"},
	} {
		r := attPostFile(t, f.TestMain, "POST", app+"/attachments/extra", w.token, "note.pdf", attPDF(w.name))
		MustAPIError(t, r, w.status, w.code)
		r = attPostFile(t, f.TestMain, "PUT", app+"/attachments/letter/1", w.token, "letter.pdf", attPDF(w.name))
		MustAPIError(t, r, w.status, w.code)
		MustAPIError(t, f.MustSend("DELETE", app+"/attachments/photos/1", w.token, nil), w.status, w.code)
		attMustStoreNothing(t, f.TestMain, "writes by "+w.name, before)
	}
	f.MustUnchanged(app, tok, saved)
}

// --- The deadline ------------------------------------------------------------

// attHeldClock is the test's manual clock for the engine, but the scheduler
// waiting on it is never woken: moving the clock past an instant then shows
// the moment before the scheduler's pass, which Advance then makes.
type attHeldClock struct{ *engine.ManualClock }

func (attHeldClock) After(time.Duration) <-chan time.Time { return nil }

// attRunMainHeld starts the program as MustRunMain does, its scheduler held.
func attRunMainHeld(tb testing.TB) *TestMain {
	tb.Helper()
	clock := engine.NewManualClock(testStart)
	m := NewMain()
	out := &bytes.Buffer{}
	m.Config, m.Clock, m.Out = ConfigForTest(tb, tb.TempDir(), false), attHeldClock{clock}, out
	m.PasswordCost = 4
	if err := m.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tm := &TestMain{Main: m, Clock: clock, Out: out, tb: tb}
	tb.Cleanup(func() {
		if err := tm.Main.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return tm
}

// Files may change until deadline + grace itself; once it has passed, a
// draft's files are refused as late (deadline_passed) until the scheduler
// lapses the draft, and then as a lapsed dossier's (invalid_transition).
// The files stay readable.
func TestAttachments_TheDeadlineClosesTheFiles(t *testing.T) {
	tm := attRunMainHeld(t)
	f := newAttFixtureOn(t, tm, "att-late")
	app := f.app
	photo := demoJPEG(64, 48, 1)
	f.upload("photos", "1.jpg", photo)

	// At the close itself the city may still add, replace and delete.
	f.Clock.Set(callClose)
	f.cannes.Token = f.MustLogin(f.cannes.Email, testPassword)
	tok := f.cannes.Token
	f.upload("photos", "2.jpg", demoJPEG(64, 48, 2))
	r := attPostFile(t, f.TestMain, "PUT", app+"/attachments/photos/2", tok, "2b.jpg", demoJPEG(64, 48, 3))
	if r.Status != 200 {
		t.Fatalf("replace at the close itself: %d %s", r.Status, r.Body)
	}
	if r := f.MustSend("DELETE", app+"/attachments/photos/2", tok, nil); r.Status != 200 {
		t.Fatalf("delete at the close itself: %d %s", r.Status, r.Body)
	}

	writes := func(what, code string) {
		t.Helper()
		before, saved := attSnapshot(t, f.TestMain), f.Raw(app, tok)
		v := strconv.Itoa(f.get().Version)
		for _, c := range []struct {
			method, path string
			data         []byte
		}{
			{"POST", app + "/attachments/letter", attPDF("late")},
			{"POST", app + "/attachments/photos?version=" + v, demoJPEG(64, 48, 4)},
			{"PUT", app + "/attachments/photos/1", demoJPEG(64, 48, 5)},
			{"DELETE", app + "/attachments/photos/1", nil},
			{"DELETE", app + "/attachments/photos/1?version=" + v, nil},
		} {
			var r *Response
			if c.data != nil {
				r = attPostFile(t, f.TestMain, c.method, c.path, tok, "late file", c.data)
			} else {
				r = f.MustSend(c.method, c.path, tok, nil)
			}
			attMustRefuse(t, what+": "+c.method+" "+c.path, r, 409, code, nil, "")
			attMustStoreNothing(t, f.TestMain, what+": "+c.method+" "+c.path, before)
		}
		f.MustUnchanged(app, tok, saved)
		if dl := f.MustSend("GET", app+"/attachments/photos/1", tok, nil); dl.Status != 200 || !bytes.Equal(dl.Body, photo) {
			t.Errorf("%s: the city's photo downloads %d, %d bytes", what, dl.Status, len(dl.Body))
		}
	}
	// A second after the close, before the scheduler's pass: late.
	f.Clock.Set(callClose.Add(time.Second))
	if d := f.get(); d.State != engine.Draft {
		t.Fatalf("before the scheduler's pass the dossier is %s, want still a draft", d.State)
	}
	writes("a second after the close", "deadline_passed")
	// The scheduler's pass lapses the draft: its files are frozen.
	f.Advance(callClose.Add(time.Second))
	if d := f.get(); d.State != engine.Lapsed {
		t.Fatalf("after the scheduler's pass the dossier is %s, want lapsed", d.State)
	}
	writes("once the draft lapsed", "invalid_transition")
}

// --- Larger files, shared content, concurrent uploads ----------------------

// attBigCallBody is a call whose one slot takes files over the 1 MiB cap
// of an ordinary request body.
func attBigCallBody(id string) map[string]any {
	b := callBody(id)
	b["attachments"] = []map[string]any{{"id": "dossier", "title": map[string]string{"en": "Full dossier", "fr": "Dossier complet"},
		"types": []string{"pdf"}, "max_bytes": "3MB", "files": 2, "required": false}}
	b["max_attachment_bytes"] = "5MB"
	return b
}

// The 1 MiB cap of JSON bodies does not cut a file: a 1.5 MB PDF is
// accepted as a form and as a raw body, replaced, and downloaded whole; a
// file over the slot's 3 MB gets a clean 413 and stores nothing.
func TestAttachments_FilesLargerThanABodyPassWhole(t *testing.T) {
	tm := MustRunMain(t, false)
	secretariat := tm.MustUser("secretariat@example.org", engine.RoleSecretariat, "", "")
	tm.MustDo(201, "POST", "/api/v1/calls", secretariat, attBigCallBody("att-big"), nil)
	nice := tm.newCity("Nice", "FR", "Music")
	tm.startDossier(nice, "att-big")
	app := "/api/v1/applications/" + nice.Dossier.ID

	one, two, three := attPDFSized(t, "one", 1_500_000), attPDFSized(t, "two", 1_200_000), attPDFSized(t, "three", 2_999_999)
	r := attPostFile(t, tm, "POST", app+"/attachments/dossier", nice.Token, "dossier.pdf", one)
	if r.Status != 201 {
		t.Fatalf("a 1.5 MB form upload: %d %s", r.Status, r.Body)
	}
	r = attSend(t, tm, "POST", app+"/attachments/dossier?name=annexes.pdf", nice.Token, two, "application/pdf", nil)
	if r.Status != 201 {
		t.Fatalf("a 1.2 MB raw upload: %d %s", r.Status, r.Body)
	}
	r = attPostFile(t, tm, "PUT", app+"/attachments/dossier/1", nice.Token, "dossier, final.pdf", three)
	if r.Status != 200 {
		t.Fatalf("a 3 MB replacement: %d %s", r.Status, r.Body)
	}
	for path, want := range map[string][]byte{"/attachments/dossier/1": three, "/attachments/dossier/2": two} {
		dl := tm.MustSend("GET", app+path, nice.Token, nil)
		if dl.Status != 200 || !bytes.Equal(dl.Body, want) {
			t.Errorf("GET %s: status %d, %d bytes; want the %d uploaded", path, dl.Status, len(dl.Body), len(want))
		}
	}
	before, saved := attSnapshot(t, tm), tm.Raw(app, nice.Token)
	over := append(bytes.Clone(three), bytes.Repeat([]byte("\n"), 2)...)
	r = attPostFile(t, tm, "PUT", app+"/attachments/dossier/1", nice.Token, "too big.pdf", over)
	attMustRefuse(t, "a file one byte over 3 MB", r, 413, "too_large", []string{"attachments.dossier"}, "3 MB")
	attMustStoreNothing(t, tm, "a file one byte over 3 MB", before)
	// Far over: the server stops reading at the slot's limit and still
	// answers a clean 413, to a form and to a raw body.
	huge := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 6_000_000)...)
	r = attPostFile(t, tm, "PUT", app+"/attachments/dossier/1", nice.Token, "huge.pdf", huge)
	attMustRefuse(t, "a 6 MB form", r, 413, "too_large", []string{"attachments.dossier"}, "3 MB")
	r = attSend(t, tm, "PUT", app+"/attachments/dossier/1?name=huge.pdf", nice.Token, huge, "application/pdf", nil)
	attMustRefuse(t, "a 6 MB raw body", r, 413, "too_large", []string{"attachments.dossier"}, "3 MB")
	attMustStoreNothing(t, tm, "6 MB uploads", before)
	tm.MustUnchanged(app, nice.Token, saved)
}

// Content is kept once, under its digest, whoever uploads it: two cities'
// same photo is one file on the disk; one city deleting its copy leaves
// the other's; a restart's sweep removes only what no dossier names.
func TestAttachments_ContentIsKeptOnceByItsDigest(t *testing.T) {
	f := newAttFixture(t, "att-shared")
	rouen := f.newCity("Rouen", "FR", "Music")
	f.startDossier(rouen, "att-shared")
	rouenApp := "/api/v1/applications/" + rouen.Dossier.ID
	shared, own := demoJPEG(64, 48, 1), demoJPEG(64, 48, 2)

	f.upload("photos", "cannes.jpg", shared)
	f.upload("photos", "cannes only.jpg", own)
	r := attPostFile(t, f.TestMain, "POST", rouenApp+"/attachments/photos", rouen.Token, "rouen.jpg", shared)
	if r.Status != 201 {
		t.Fatalf("Rouen uploads the same photo: %d %s", r.Status, r.Body)
	}
	disk := attDisk(t, f.TestMain)
	if len(disk.kept) != 2 || disk.kept[attSHA(shared)[:2]+"/"+attSHA(shared)] == nil {
		t.Fatalf("kept files %v; want the shared photo once and Cannes's own", slices.Sorted(maps.Keys(disk.kept)))
	}
	// Cannes deletes both its photos: Rouen's copy is still Rouen's.
	for range 2 {
		if r := f.MustSend("DELETE", f.app+"/attachments/photos/1", f.cannes.Token, nil); r.Status != 200 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
	}
	if dl := f.MustSend("GET", rouenApp+"/attachments/photos/1", rouen.Token, nil); dl.Status != 200 || !bytes.Equal(dl.Body, shared) {
		t.Fatalf("Rouen's photo after Cannes deleted its copy: %d, %d bytes", dl.Status, len(dl.Body))
	}
	f.MustFail(404, "not_found", "GET", f.app+"/attachments/photos/1", f.cannes.Token, nil)
	// A restart sweeps the file nobody names any more, and only that one.
	f.Restart()
	rouen.Token = f.MustLogin(rouen.Email, testPassword)
	disk = attDisk(t, f.TestMain)
	if got := slices.Sorted(maps.Keys(disk.kept)); !slices.Equal(got, []string{attSHA(shared)[:2] + "/" + attSHA(shared)}) {
		t.Fatalf("after the restart's sweep, kept files %v; want only the shared photo", got)
	}
	if dl := f.MustSend("GET", rouenApp+"/attachments/photos/1", rouen.Token, nil); dl.Status != 200 || !bytes.Equal(dl.Body, shared) {
		t.Fatalf("Rouen's photo after the restart: %d, %d bytes", dl.Status, len(dl.Body))
	}
}

// Uploads racing for the last place of a slot: exactly one is recorded,
// the others are told the slot is full; the dossier moves one version; the
// files the losers kept before their refusal are swept at the next start.
func TestAttachments_ConcurrentUploadsFillASlotOnce(t *testing.T) {
	f := newAttFixture(t, "att-race")
	v := f.get().Version
	const n = 8
	results := make(chan *Response, n)
	for i := range n {
		go func() {
			r, err := attSendFile(f.TestMain, "POST", f.app+"/attachments/letter", f.cannes.Token, fmt.Sprintf("letter %d.pdf", i), attPDF(fmt.Sprintf("letter %d", i)))
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	statuses := map[int]int{}
	for range n {
		r := <-results
		if r == nil {
			continue
		}
		statuses[r.Status]++
		if r.Status == 409 {
			attMustRefuse(t, "a losing upload", r, 409, "conflict", []string{"attachments.letter"}, "replace or delete")
		} else if r.Status != 201 {
			t.Errorf("a racing upload: %d %s", r.Status, r.Body)
		}
	}
	if statuses[201] != 1 || statuses[409] != n-1 {
		t.Fatalf("racing uploads answered %v; want one 201 and %d 409", statuses, n-1)
	}
	d := f.get()
	if d.Version != v+1 || len(d.Attachments) != 1 {
		t.Fatalf("after the race: v%d with %d files; want v%d with 1", d.Version, len(d.Attachments), v+1)
	}
	if disk := attDisk(t, f.TestMain); len(disk.staging) != 0 {
		t.Errorf("left in staging after the race: %v", disk.staging)
	}
	f.Restart()
	tok := f.MustLogin(f.cannes.Email, testPassword)
	if got, want := slices.Sorted(maps.Keys(attDisk(t, f.TestMain).kept)), []string{d.Attachments[0].SHA256[:2] + "/" + d.Attachments[0].SHA256}; !slices.Equal(got, want) {
		t.Errorf("after a restart, kept files %v; want only the recorded letter %v", got, want)
	}
	if dl := f.MustSend("GET", f.app+"/attachments/letter/1", tok, nil); dl.Status != 200 || attSHA(dl.Body) != d.Attachments[0].SHA256 {
		t.Errorf("the recorded letter after the restart: %d", dl.Status)
	}
}

// attSendFile sends the file as attPostFile does, returning an error
// instead of failing the test, so that goroutines may call it.
func attSendFile(tm *TestMain, method, path, token, name string, data []byte) (*Response, error) {
	body, ct, err := attForm(attFilePart(name), data)
	if err != nil {
		return nil, err
	}
	header := map[string]string{"Content-Type": ct}
	if token != "" {
		header["Authorization"] = "Bearer " + token
	}
	return attDo(tm, method, path, body, header)
}

// attDo sends body with the headers given, and returns the answer or an
// error; it never fails the test, so goroutines may call it.
func attDo(tm *TestMain, method, path string, body []byte, header map[string]string) (*Response, error) {
	req, err := http.NewRequest(method, tm.URL()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}
