package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"designate/engine"
)

// maxUploadBody caps an upload's whole body: the largest file a call may
// allow plus room for the multipart framing. The engine stops reading at
// the slot's own limit long before.
const maxUploadBody = 100_000_000 + 1<<20

// uploadTime is how long an upload or a download may take: a 3 MB photo
// over a poor link needs minutes, not the 30 s an ordinary request gets.
const uploadTime = 15 * time.Minute

// allowSlowTransfer extends the connection's deadlines for a file.
func allowSlowTransfer(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(uploadTime)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline)
}

// readUpload finds the file in the request: the part named "file" of a
// multipart/form-data body, or the whole body with its name in the query
// (?name=) or a Content-Disposition header. The name is taken as sent
// (multipart's FileName would silently drop a path), for the engine to
// judge. The version to check, if any, is ?version=.
func readUpload(w http.ResponseWriter, r *http.Request, replace int) (engine.Upload, error) {
	up := engine.Upload{Replace: replace}
	version, err := versionParam(r.URL.Query().Get("version"))
	if err != nil {
		return up, err
	}
	up.Version = version
	body := http.MaxBytesReader(w, uncappedBody(r), maxUploadBody)
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		up.Name = r.URL.Query().Get("name")
		if up.Name == "" {
			up.Name = dispositionName(r.Header.Get("Content-Disposition"))
		}
		up.Body = uploadBody{body}
		return up, nil
	}
	r.Body = body
	mr, err := r.MultipartReader()
	if err != nil {
		return up, engine.FieldErrors(engine.EINVALID, "The upload is not a well-formed multipart form.", map[string]string{"file": err.Error()})
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return up, engine.FieldErrors(engine.EINVALID, "The upload has no file.", map[string]string{"file": "is required: send it as the form part named \"file\""})
		} else if err != nil {
			return up, uploadError(err)
		}
		if part.FormName() == "file" {
			up.Name = dispositionName(part.Header.Get("Content-Disposition"))
			up.Body = uploadBody{part}
			return up, nil
		}
	}
}

// dispositionName is the filename parameter of a Content-Disposition
// header, RFC 2231 encoding included, unaltered.
func dispositionName(header string) string {
	_, params, err := mime.ParseMediaType(header)
	if err != nil {
		return ""
	}
	return params["filename"]
}

// uploadBody turns the transport's read errors into refusals the engine
// returns as they are: over the cap, or cut short.
type uploadBody struct{ r io.Reader }

func (b uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		return n, uploadError(err)
	}
	return n, err
}

// uploadError is a read error of an upload as the client is told it.
func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return engine.Errorf(engine.ETOOLARGE, "The upload is larger than %d bytes.", tooBig.Limit)
	}
	return engine.FieldErrors(engine.EINVALID, "The upload did not arrive whole.", map[string]string{"file": "was cut short or malformed: send it again"})
}

// versionParam reads an optional version (?version=, or a form's hidden
// input): nil when absent, EINVALID when not a positive whole number.
func versionParam(v string) (*int, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return nil, engine.FieldErrors(engine.EINVALID, "Bad version.", map[string]string{"version": "must be a positive whole number"})
	}
	return &n, nil
}

// slotFile reads the {n} of a file route: a whole number from 1.
func slotFile(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= 1000
}
