package engine

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"time"
)

// Files keeps the content of attachments, addressed by its SHA-256, apart
// from the records (a database holds metadata, not megabytes). A file is
// staged and kept (durable, in place) before the transaction that records
// it commits, so a committed record always has its file; a crash in between
// leaves at most a file no record names, which SweepFiles removes.
type Files interface {
	// Stage copies up to limit+1 bytes of r to a temporary file, synced, and
	// returns it with its size and digest. Read errors from r are returned
	// wrapped, so errors.As finds what r returned.
	Stage(r io.Reader, limit int64) (StagedFile, error)
	// Open opens a kept file. Returns ENOTFOUND if there is none.
	Open(digest string) (StoredFile, error)
	// Walk calls fn with every kept file's digest and when it was kept.
	Walk(fn func(digest string, kept time.Time) error) error
	// Remove deletes a kept file.
	Remove(digest string) error
}

// StagedFile is an upload written to disk but not yet in place.
type StagedFile interface {
	io.ReaderAt
	// Size is the bytes staged: limit+1 when the upload was over the limit.
	Size() int64
	// Digest is the lower-case hex SHA-256 of the content.
	Digest() string
	// Keep moves the file into place under its digest, durably. The staged
	// file is gone afterwards, whatever the outcome.
	Keep() error
	// Discard removes the staged file.
	Discard() error
}

// StoredFile is a kept file, open for reading (and range requests).
type StoredFile interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// FileType is a kind of file a slot may accept.
type FileType string

// The file types the engine recognises by their content.
const (
	FilePDF  FileType = "pdf"
	FileJPEG FileType = "jpeg"
	FilePNG  FileType = "png"
)

// FileTypes lists every type a slot may accept.
var FileTypes = []FileType{FilePDF, FileJPEG, FilePNG}

// MediaType is the type's MIME type, sent with downloads.
func (t FileType) MediaType() string {
	switch t {
	case FilePDF:
		return "application/pdf"
	case FileJPEG:
		return "image/jpeg"
	case FilePNG:
		return "image/png"
	}
	return "application/octet-stream"
}

// Extension is the file name extension of the type, with its dot.
func (t FileType) Extension() string {
	switch t {
	case FileJPEG:
		return ".jpg"
	case FilePDF, FilePNG:
		return "." + string(t)
	}
	return ""
}

// Label names the type for people.
func (t FileType) Label() string {
	switch t {
	case FilePDF:
		return "PDF"
	case FileJPEG:
		return "JPEG"
	case FilePNG:
		return "PNG"
	}
	return string(t)
}

// Limits on images: a photo of a city is at most 40 megapixels and 20,000
// pixels a side. A file claiming more is refused before it is decoded, so a
// few kilobytes cannot make the server allocate gigabytes.
const (
	maxImagePixels = 40_000_000
	maxImageSide   = 20_000
)

// decodeSlots bounds how many images are decoded at once: decoding is CPU
// work, so more than one per core only adds memory, and on a small machine
// one core is left to everything else (submissions must not slow down
// because photos are arriving).
var decodeSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))

// fileFacts is what the content says a file is.
type fileFacts struct {
	Type          FileType
	Width, Height int
}

// inspect finds the type of a staged file from its content alone, and checks
// that the content is whole: a PDF must start with its header and end with
// its trailer; an image must decode entirely with the standard library.
// Returns a message for people when the file is none of the known types or
// is damaged.
func inspect(f io.ReaderAt, size int64) (fileFacts, Text) {
	head := make([]byte, 8)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return inspectPDF(f, size)
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return inspectImage(f, size, FileJPEG, jpeg.DecodeConfig, jpeg.Decode)
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return inspectImage(f, size, FilePNG, png.DecodeConfig, png.Decode)
	}
	return fileFacts{}, T("file_unknown_type")
}

// inspectPDF checks the trailer: a PDF ends with "startxref", an offset and
// "%%EOF", so a truncated upload has neither near its end.
func inspectPDF(f io.ReaderAt, size int64) (fileFacts, Text) {
	const tail = 2048
	off := max(size-tail, 0)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return fileFacts{}, T("file_unreadable")
	}
	end := bytes.TrimRight(buf, " \t\r\n\x00")
	if !bytes.HasSuffix(end, []byte("%%EOF")) || !bytes.Contains(buf, []byte("startxref")) {
		return fileFacts{}, T("pdf_damaged")
	}
	return fileFacts{Type: FilePDF}, Text{}
}

func inspectImage(f io.ReaderAt, size int64, t FileType,
	config func(io.Reader) (image.Config, error), decode func(io.Reader) (image.Image, error)) (fileFacts, Text) {
	cfg, err := config(io.NewSectionReader(f, 0, size))
	if err != nil {
		return fileFacts{}, T("image_damaged", t.Label())
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxImageSide || cfg.Height > maxImageSide ||
		int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return fileFacts{}, T("image_too_big", cfg.Width, cfg.Height, maxImagePixels/1_000_000, maxImageSide)
	}
	decodeSlots <- struct{}{}
	_, err = decode(io.NewSectionReader(f, 0, size))
	<-decodeSlots
	if err != nil {
		return fileFacts{}, T("image_truncated", t.Label())
	}
	return fileFacts{Type: t, Width: cfg.Width, Height: cfg.Height}, Text{}
}
