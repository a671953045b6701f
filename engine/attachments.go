package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AttachmentSlot is one kind of file a call asks for: the Mayor's letter,
// the photos. A slot holds up to Files files; a required slot must hold
// exactly Files at submission.
type AttachmentSlot struct {
	ID       string     `json:"id"`
	Title    Localized  `json:"title"`
	Types    []FileType `json:"types"`
	MaxBytes ByteSize   `json:"max_bytes" yaml:"max_bytes"`
	Files    int        `json:"files"`
	Required bool       `json:"required"`
}

// Accepts reports whether the slot takes files of type t.
func (s *AttachmentSlot) Accepts(t FileType) bool {
	for _, v := range s.Types {
		if v == t {
			return true
		}
	}
	return false
}

// typeList names the slot's types for people: "PDF", "JPEG or PNG".
func (s *AttachmentSlot) typeList() string {
	labels := make([]string, len(s.Types))
	for i, t := range s.Types {
		labels[i] = t.Label()
	}
	if len(labels) < 2 {
		return strings.Join(labels, "")
	}
	return strings.Join(labels[:len(labels)-1], ", ") + " or " + labels[len(labels)-1]
}

// Attachment is one file of a dossier. Its content is kept apart, addressed
// by SHA256; N is its place in its slot, from 1.
type Attachment struct {
	Slot       string    `json:"slot"`
	N          int       `json:"n"`
	Name       string    `json:"name"`
	Type       FileType  `json:"type"`
	MediaType  string    `json:"media_type"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	Width      int       `json:"width,omitempty"`
	Height     int       `json:"height,omitempty"`
	UploadedAt time.Time `json:"uploaded_at"`
}

// DownloadName is the name a download is saved under: the uploaded name,
// with the extension of what the content really is.
func (a *Attachment) DownloadName() string {
	ext := a.Type.Extension()
	have := strings.ToLower(path.Ext(a.Name))
	if have == ext || (a.Type == FileJPEG && have == ".jpeg") {
		return a.Name
	}
	return a.Name + ext
}

// AttachmentSlot returns the call's slot with the id, or nil.
func (c *Call) AttachmentSlot(id string) *AttachmentSlot {
	for i := range c.Attachments {
		if c.Attachments[i].ID == id {
			return &c.Attachments[i]
		}
	}
	return nil
}

// validateAttachments adds to f what is wrong with the call's slots.
func (c *Call) validateAttachments(f map[string]string) {
	if len(c.Attachments) > 0 && (c.MaxAttachmentBytes < 1 || c.MaxAttachmentBytes > maxDossierBytes) {
		f["max_attachment_bytes"] = fmt.Sprintf("must be between 1 byte and %s", maxDossierBytes)
	}
	for i, s := range c.Attachments {
		key := fmt.Sprintf("attachments[%d]", i)
		if !ValidSlug(s.ID) {
			f[key+".id"] = "must be lower-case letters, digits or dashes"
		} else if c.AttachmentSlot(s.ID) != &c.Attachments[i] {
			f[key+".id"] = "is used by another slot"
		}
		if !ValidText(s.Title.EN, 1, 300) || !ValidText(s.Title.FR, 1, 300) {
			f[key+".title"] = "needs an English and a French title of at most 300 characters"
		}
		if len(s.Types) == 0 {
			f[key+".types"] = "must list at least one of pdf, jpeg, png"
		}
		for j, t := range s.Types {
			if t.MediaType() == "application/octet-stream" || indexOfType(s.Types[:j], t) >= 0 {
				f[fmt.Sprintf("%s.types[%d]", key, j)] = "must be pdf, jpeg or png, each once"
			}
		}
		if s.MaxBytes < 1 || s.MaxBytes > maxFileBytes {
			f[key+".max_bytes"] = fmt.Sprintf("must be between 1 byte and %s", maxFileBytes)
		}
		if s.Files < 1 || s.Files > 20 {
			f[key+".files"] = "must be between 1 and 20"
		}
	}
}

func indexOfType(list []FileType, t FileType) int {
	for i, v := range list {
		if v == t {
			return i
		}
	}
	return -1
}

// The largest sizes a call may configure.
const (
	maxFileBytes    ByteSize = 100e6
	maxDossierBytes ByteSize = 500e6
)

// checkAttachments adds to f, per slot, why the dossier's files keep it from
// being submitted: a required slot short of its count, or too many files.
func checkAttachments(call *Call, a *Application, f map[string]Text) {
	for _, s := range call.Attachments {
		n := a.countIn(s.ID)
		switch {
		case s.Required && n != s.Files && s.Files == 1:
			f["attachments."+s.ID] = T("slot_required", s.Title)
		case s.Required && n != s.Files:
			f["attachments."+s.ID] = T("slot_short", s.Title, s.Files, n)
		case n > s.Files:
			f["attachments."+s.ID] = T("slot_over", s.Title, s.Files, n)
		}
	}
}

// countIn is how many files the dossier has in the slot.
func (a *Application) countIn(slot string) int {
	n := 0
	for _, at := range a.Attachments {
		if at.Slot == slot {
			n++
		}
	}
	return n
}

// attachmentBytes is the size of all the dossier's files.
func (a *Application) attachmentBytes() int64 {
	var n int64
	for _, at := range a.Attachments {
		n += at.Size
	}
	return n
}

// attachment returns the index of file n of the slot, or -1.
func (a *Application) attachment(slot string, n int) int {
	for i, at := range a.Attachments {
		if at.Slot == slot && at.N == n {
			return i
		}
	}
	return -1
}

// placeAttachments orders the files by the call's slots, then by upload,
// and numbers them within their slot from 1.
func placeAttachments(call *Call, list []Attachment) []Attachment {
	out := make([]Attachment, 0, len(list))
	taken := make([]bool, len(list))
	place := func(slot string) {
		n := 0
		for i, at := range list {
			if !taken[i] && at.Slot == slot {
				n++
				at.N = n
				out = append(out, at)
				taken[i] = true
			}
		}
	}
	for _, s := range call.Attachments {
		place(s.ID)
	}
	// Files of a slot the call no longer declares stay, after the others.
	for i := range list {
		if !taken[i] {
			place(list[i].Slot)
		}
	}
	return out
}

// Upload is a file a city adds to a slot of its dossier.
type Upload struct {
	// Name is the file's name as the city's computer knows it.
	Name string
	// Body is the content; a read error that is an *Error (the transport's
	// size cap) is returned as it is.
	Body io.Reader
	// Replace, when not 0, is the file of the slot the upload replaces.
	Replace int
	// Version, when not nil, must be the version the city last read.
	Version *int
}

// Attach stores an uploaded file in a slot of a draft and returns the
// dossier at its new version. The content is streamed to disk, its type
// found from the content, and the file kept under its digest before the
// transaction that records it. Returns EUNAUTHORIZED, ENOTFOUND (no such
// dossier or slot, or file to replace), EFORBIDDEN (not the city's own),
// EINVALID (per slot: name, empty, wrong type, damaged), ETOOLARGE (over the
// slot's or the dossier's limit), ECONFLICT (the slot is full),
// ESTALEVERSION, EINVALIDTRANSITION (not a draft) or EDEADLINEPASSED.
func (s *Service) Attach(ctx context.Context, actor Actor, id, slotID string, up Upload) (*Application, error) {
	if s.Files == nil {
		return nil, errors.New("attach: the service has no file store")
	}
	field := "attachments." + slotID
	if msg := checkFileName(up.Name); msg.Key != "" {
		return nil, FieldTexts(EINVALID, "The file name is not acceptable.", map[string]Text{field + ".name": msg})
	}
	// Everything that can refuse the upload is checked before a byte is
	// stored, and again in the transaction that records it.
	var budget int64
	var slot *AttachmentSlot
	var before *Application
	err := s.store.View(ctx, func(tx ReadTx) error {
		app, call, err := s.editableDraft(tx, actor, id, up.Version)
		if err != nil {
			return err
		}
		before = app
		slot, budget, err = roomFor(call, app, slotID, up.Replace)
		return err
	})
	if err != nil {
		return nil, err
	}
	staged, err := s.Files.Stage(up.Body, budget)
	if err != nil {
		var refusal *Error
		if errors.As(err, &refusal) {
			return nil, refusal
		}
		return nil, fmt.Errorf("stage upload: %w", err)
	}
	facts, err := s.checkStaged(staged, slot, budget)
	if err == nil {
		err = sameFile(before, slotID, up.Replace, staged.Digest())
	}
	if err != nil {
		staged.Discard()
		return nil, err
	}
	digest, size := staged.Digest(), staged.Size()
	if err := staged.Keep(); err != nil {
		return nil, fmt.Errorf("keep upload: %w", err)
	}
	now := s.clock.Now()
	var saved *Application
	err = s.store.Update(ctx, func(tx Tx) error {
		app, call, err := s.editableDraft(tx, actor, id, up.Version)
		if err != nil {
			return err
		}
		if _, room, err := roomFor(call, app, slotID, up.Replace); err != nil {
			return err
		} else if size > room {
			return tooLarge(call, slot, app)
		}
		if err := sameFile(app, slotID, up.Replace, digest); err != nil {
			return err
		}
		next := app.Clone()
		at := Attachment{Slot: slotID, Name: up.Name, Type: facts.Type, MediaType: facts.Type.MediaType(),
			Size: size, SHA256: digest, Width: facts.Width, Height: facts.Height, UploadedAt: now}
		if up.Replace > 0 {
			next.Attachments[next.attachment(slotID, up.Replace)] = at
		} else {
			next.Attachments = append(next.Attachments, at)
		}
		next.Attachments = placeAttachments(call, next.Attachments)
		next.Version, next.UpdatedAt = app.Version+1, now
		saved = next
		return tx.PutApplication(next)
	})
	// A refused transaction leaves the kept file for SweepFiles: another
	// dossier may be recording the same content at this moment.
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// checkStaged refuses a staged file that is empty, over its budget, or not
// what the slot accepts.
func (s *Service) checkStaged(staged StagedFile, slot *AttachmentSlot, budget int64) (fileFacts, error) {
	field := "attachments." + slot.ID
	if staged.Size() == 0 {
		return fileFacts{}, FieldTexts(EINVALID, "The file is empty.", map[string]Text{field: T("file_empty")})
	}
	if staged.Size() > budget {
		if budget == int64(slot.MaxBytes) {
			return fileFacts{}, FieldTexts(ETOOLARGE, "The file is too large.", map[string]Text{
				field: T("file_too_large", slot.MaxBytes, slot.Title)})
		}
		return fileFacts{}, FieldTexts(ETOOLARGE, "The dossier's files would be too large.", map[string]Text{
			field: T("files_too_large")})
	}
	facts, msg := inspect(staged, staged.Size())
	if msg.Key != "" {
		return facts, FieldTexts(EINVALID, "The file is not acceptable.", map[string]Text{field: msg})
	}
	if !slot.Accepts(facts.Type) {
		return facts, FieldTexts(EINVALID, "The file is not of an accepted type.", map[string]Text{
			field: T("file_wrong_type", facts.Type.Label(), slot.Title, slot.typeList())})
	}
	return facts, nil
}

// sameFile refuses a file the slot holds already (but for the one it
// replaces): three copies of one photo are not three photos.
func sameFile(app *Application, slotID string, replace int, digest string) error {
	for _, at := range app.Attachments {
		if at.Slot == slotID && at.N != replace && at.SHA256 == digest {
			return FieldTexts(ECONFLICT, "The slot holds this file already.", map[string]Text{
				"attachments." + slotID: T("file_same", at.N, at.Name)})
		}
	}
	return nil
}

// editableDraft reads a dossier the actor may edit now: its own city's, a
// draft, at the version given, before the close.
func (s *Service) editableDraft(tx ReadTx, actor Actor, id string, version *int) (*Application, *Call, error) {
	app, call, err := visibleInCall(tx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	if !ownCity(actor, &app.Summary) {
		return nil, nil, Errorf(EFORBIDDEN, "Only the city can change its dossier's files.")
	}
	now := s.clock.Now()
	if shown := presentVersion(actor, call, &app.Summary, now); version != nil && *version != shown {
		return nil, nil, Errorf(ESTALEVERSION, "The dossier was saved meanwhile (version %d, not %d): reload it.", shown, *version)
	}
	if app.State != Draft {
		return nil, nil, Errorf(EINVALIDTRANSITION, "A dossier that is %s cannot change its files: only a draft can.", shownState(actor, call, &app.Summary, now))
	}
	if now.After(call.Close()) {
		return nil, nil, Errorf(EDEADLINEPASSED, "The submission deadline (%s) has passed.", formatInstant(call.SubmissionDeadline, call))
	}
	return app, call, nil
}

// roomFor returns the slot and the most bytes an upload to it may have: the
// slot's limit, or what is left of the dossier's total.
func roomFor(call *Call, app *Application, slotID string, replace int) (*AttachmentSlot, int64, error) {
	slot := call.AttachmentSlot(slotID)
	if slot == nil {
		return nil, 0, Errorf(ENOTFOUND, "This call has no attachment slot %q.", slotID)
	}
	field := "attachments." + slotID
	left := int64(call.MaxAttachmentBytes) - app.attachmentBytes()
	if replace != 0 {
		i := app.attachment(slotID, replace)
		if i < 0 {
			return nil, 0, Errorf(ENOTFOUND, "The slot %q has no file %d.", slotID, replace)
		}
		left += app.Attachments[i].Size
	} else if n := app.countIn(slotID); n >= slot.Files {
		return nil, 0, FieldTexts(ECONFLICT, "The slot is full.", map[string]Text{
			field: T("slot_full", slot.Title, slot.Files)})
	}
	if left < 1 {
		return nil, 0, tooLarge(call, slot, app)
	}
	return slot, min(int64(slot.MaxBytes), left), nil
}

func tooLarge(call *Call, slot *AttachmentSlot, app *Application) error {
	return FieldTexts(ETOOLARGE, "The dossier's files would be too large.", map[string]Text{
		"attachments." + slot.ID: T("files_total", call.MaxAttachmentBytes, ByteSize(app.attachmentBytes()))})
}

// Detach deletes file n of a slot of a draft and returns the dossier at its
// new version. Returns what Attach does, and ENOTFOUND for no such file.
func (s *Service) Detach(ctx context.Context, actor Actor, id, slotID string, n int, version *int) (*Application, error) {
	var saved *Application
	err := s.store.Update(ctx, func(tx Tx) error {
		app, call, err := s.editableDraft(tx, actor, id, version)
		if err != nil {
			return err
		}
		i := app.attachment(slotID, n)
		if i < 0 {
			return Errorf(ENOTFOUND, "The slot %q has no file %d.", slotID, n)
		}
		next := app.Clone()
		next.Attachments = placeAttachments(call, append(next.Attachments[:i:i], next.Attachments[i+1:]...))
		next.Version, next.UpdatedAt = app.Version+1, s.clock.Now()
		saved = next
		return tx.PutApplication(next)
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// Attachments returns the files of a dossier the actor may see.
func (s *Service) Attachments(ctx context.Context, actor Actor, id string) ([]Attachment, error) {
	app, err := s.Application(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	return app.Attachments, nil
}

// OpenAttachment opens file n of a slot of a dossier the actor may see, for
// download. Returns EUNAUTHORIZED or ENOTFOUND (no such dossier, slot or
// file, or not the actor's to see).
func (s *Service) OpenAttachment(ctx context.Context, actor Actor, id, slotID string, n int) (*Attachment, StoredFile, error) {
	app, err := s.Application(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	i := app.attachment(slotID, n)
	if i < 0 {
		return nil, nil, Errorf(ENOTFOUND, "The slot %q has no file %d.", slotID, n)
	}
	at := app.Attachments[i]
	f, err := s.Files.Open(at.SHA256)
	if err != nil {
		// The record names the file, so it was kept before the commit: a
		// missing file is damage for the integrity check, not a 404.
		return nil, nil, fmt.Errorf("open attachment %s of dossier %s: %w", at.SHA256, id, err)
	}
	return &at, f, nil
}

// checkFileName returns why a file name is not acceptable, or no Text. A name is
// only shown and offered back on download, never used as a path, but one
// with separators or control characters is refused rather than altered.
func checkFileName(name string) Text {
	switch {
	case name == "":
		return T("required")
	case !utf8.ValidString(name) || len(name) > 255:
		return T("filename_too_long")
	case strings.ContainsAny(name, `/\`):
		return T("filename_slash")
	case name == "." || name == ".." || strings.TrimSpace(name) == "":
		return T("filename_not_a_name")
	}
	for _, r := range name {
		// Format characters (U+202E, the right-to-left override, among
		// them) are invisible and can make "gpj.exe" read as "exe.jpg".
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return T("filename_control")
		}
	}
	return Text{}
}

// SubmissionDigest is the SHA-256 of what a city submitted: the dossier's
// identity, contacts, sections and every file's name, type, size and
// SHA-256, in this JSON form (encoding/json writes section ids sorted):
//
//	{"id":…,"call":…,"city":…,"country":…,"field":…,"language":…,
//	 "contacts":{…},"sections":{…},"attachments":[{"slot":…,"n":…,"name":…,
//	 "type":…,"size":…,"sha256":…}]}
//
// The receipt shows it; anyone holding the same content can recompute it.
func SubmissionDigest(a *Application) string {
	type file struct {
		Slot   string   `json:"slot"`
		N      int      `json:"n"`
		Name   string   `json:"name"`
		Type   FileType `json:"type"`
		Size   int64    `json:"size"`
		SHA256 string   `json:"sha256"`
	}
	doc := struct {
		ID          string            `json:"id"`
		Call        string            `json:"call"`
		City        string            `json:"city"`
		Country     string            `json:"country"`
		Field       string            `json:"field"`
		Language    string            `json:"language"`
		Contacts    Contacts          `json:"contacts"`
		Sections    map[string]string `json:"sections"`
		Attachments []file            `json:"attachments"`
	}{a.ID, a.Call, a.City, a.Country, a.Field, a.Language, a.Contacts, a.Sections, []file{}}
	for _, at := range a.Attachments {
		doc.Attachments = append(doc.Attachments, file{at.Slot, at.N, at.Name, at.Type, at.Size, at.SHA256})
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err) // strings and numbers always encode
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// SweepFiles removes the kept files no dossier names: what a crash between
// keeping a file and committing its record left behind. It must run while
// no upload is in flight (at start-up, before serving), since an upload
// keeps its file before recording it. Returns the digests removed.
func (s *Service) SweepFiles(ctx context.Context) ([]string, error) {
	orphans, err := s.orphanFiles(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range orphans {
		if err := s.Files.Remove(d); err != nil {
			return nil, err
		}
	}
	return orphans, nil
}

func (s *Service) orphanFiles(ctx context.Context) ([]string, error) {
	var orphans []string
	err := s.store.View(ctx, func(tx ReadTx) error {
		return s.Files.Walk(func(digest string, _ time.Time) error {
			used, err := tx.FileUsed(digest)
			if err == nil && !used {
				orphans = append(orphans, digest)
			}
			return err
		})
	})
	return orphans, err
}

// verifyFile re-reads a kept file and returns what is wrong with it, or "".
func (s *Service) verifyFile(at Attachment) string {
	f, err := s.Files.Open(at.SHA256)
	if err != nil {
		return fmt.Sprintf("missing (%s %d of %q)", at.Slot, at.N, at.Name)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	switch {
	case err != nil:
		return "unreadable: " + err.Error()
	case n != at.Size:
		return fmt.Sprintf("has %d bytes; the record says %d", n, at.Size)
	case hex.EncodeToString(h.Sum(nil)) != at.SHA256:
		return "its content does not match its SHA-256"
	}
	return ""
}
