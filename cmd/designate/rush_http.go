package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// The run's HTTP: measured requests, which count in the report, and the
// setup's, which must succeed.

// rushRequest is one measured request.
type rushRequest struct {
	op                               rushOp
	method, path, token, contentType string
	body                             []byte
}

// send makes a measured request and records it in rec: its latency, and
// any non-2xx answer or transport error as a failure of its operation.
func (r *rushRun) send(rec rushRecorder, q rushRequest) ([]byte, bool) {
	status, raw, d, err := r.do(q.method, q.path, q.token, q.contentType, q.body)
	t := rec.tally(q.op)
	t.hist.add(d)
	r.live.ops.Add(1)
	if err != nil {
		r.fail(t, q.op, 0, err.Error())
		// A server that went away refuses at once: wait a little rather
		// than spin.
		time.Sleep(50 * time.Millisecond)
		return nil, false
	}
	if status < 200 || status > 299 {
		r.fail(t, q.op, status, rushClip(raw))
		return raw, false
	}
	return raw, true
}

// fail counts a failure of op, and quotes the first few.
func (r *rushRun) fail(t *rushTally, op rushOp, status int, detail string) {
	t.errors++
	if t.byStatus == nil {
		t.byStatus = map[string]uint64{}
	}
	t.byStatus[statusKey(status)]++
	r.live.errors.Add(1)
	r.samplesMu.Lock()
	defer r.samplesMu.Unlock()
	if len(r.samples) < rushSamples {
		r.samples = append(r.samples, fmt.Sprintf("%s: %s: %s", op, statusKey(status), detail))
	}
}

// do sends one request and reads the whole answer, so the connection is
// reused.
func (r *rushRun) do(method, path, token, contentType string, body []byte) (int, []byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.reqCtx, method, r.opt.addr+path, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r.opt.minimal && method != http.MethodGet {
		// Every write of the rush reads back id, state and version only.
		req.Header.Set("Prefer", "return=minimal")
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, time.Since(start), err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, raw, time.Since(start), err
}

// getJSON and postJSON are the run's unmeasured requests (setup), which
// must succeed.
func (r *rushRun) getJSON(path, token string, out any) error {
	return r.unmeasured(http.MethodGet, path, token, nil, out)
}

func (r *rushRun) postJSON(path, token string, in, out any) error {
	return r.unmeasured(http.MethodPost, path, token, in, out)
}

func (r *rushRun) unmeasured(method, path, token string, in, out any) error {
	var body []byte
	var ct string
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
		ct = "application/json"
	}
	status, raw, _, err := r.do(method, path, token, ct, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, status, rushClip(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// rushClip is an answer's body cut for quoting.
func rushClip(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
