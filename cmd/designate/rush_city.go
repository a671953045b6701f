package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"designate/engine"
)

// rushCity is one applicant city as its client plays it: its account, its
// dossier as the server last acknowledged it, and where it is in
// rushScript. Only its own client touches it.
type rushCity struct {
	n                                        int
	email, password, name, country, language string
	field                                    string
	texts                                    map[string]string
	call                                     *engine.Call
	// saveHead and quoted are the parts of a save's body that never
	// change, encoded once: the client must not spend the cores the
	// server is measured on. quoted holds each section as `"id":"text`,
	// without the closing quote, where a revision mark goes.
	saveHead []byte
	quoted   map[string][]byte
	saveSize int

	token, id string
	version   int
	state     string
	step      int
	revision  int
	// stale means a write failed: the dossier is read again (unmeasured)
	// before the city's next step.
	stale bool
	// retired cities are out of the run (their dossier could not be
	// prepared, or left the draft/submitted cycle).
	retired bool
}

// rushCountries are real ISO 3166-1 codes the cities are spread over.
var rushCountries = strings.Fields(`FR PT ES IT DE BE NL GB IE PL CZ AT CH SE NO DK FI GR TR MA TN EG SN NG KE ZA
	BR AR CO MX US CA CU PE CL CN JP KR IN ID TH VN PH AU NZ LB JO IR UA LT HU RO BG HR SI EE LV IS`)

func newRushCity(r *rushRun, i int) *rushCity {
	c := &rushCity{
		n:        i,
		email:    fmt.Sprintf("%s-%04d@rush.example.org", r.prefix, i),
		password: randomPassword(),
		name:     fmt.Sprintf("Rush %s City %04d", strings.TrimPrefix(r.prefix, "rush-"), i),
		country:  rushCountries[i%len(rushCountries)],
		field:    r.call.Fields[i%len(r.call.Fields)],
		language: r.call.Languages[i%len(r.call.Languages)],
		call:     &r.call,
		texts:    map[string]string{},
	}
	for j, s := range r.call.Sections {
		// Three quarters of the limit: a finished dossier, within every
		// limit, so the submission is accepted.
		words := s.WordLimit * 3 / 4
		if s.WordLimit <= 0 {
			words = 300
		}
		c.texts[s.ID] = rushText(c.name, uint64(i)<<16|uint64(j), words)
	}
	c.encodeSaveParts()
	return c
}

// encodeSaveParts encodes, once, what every save of the city sends.
func (c *rushCity) encodeSaveParts() {
	c.saveHead, _ = json.Marshal(map[string]any{"contacts": c.contacts(), "field": c.field, "language": c.language})
	c.quoted = map[string][]byte{}
	c.saveSize = len(c.saveHead) + 64
	for id, text := range c.texts {
		key, _ := json.Marshal(id)
		q, _ := json.Marshal(text)
		c.quoted[id] = append(append(key, ':'), q[:len(q)-1]...)
		c.saveSize += len(c.quoted[id]) + 32
	}
}

// contacts are the city's three complete contacts.
func (c *rushCity) contacts() engine.Contacts {
	slug := strings.ToLower(strings.ReplaceAll(c.name, " ", "-"))
	p := func(role string) engine.Contact {
		return engine.Contact{Name: role + " of " + c.name, Email: role + "@" + slug + ".example.org", Phone: "+33 1 45 68 10 00"}
	}
	return engine.Contacts{Mayor: p("mayor"), Representative: p("deputy"), Main: p("culture")}
}

// sections are the draft's text at the city's current revision: one
// section, in turn, carries the revision's mark, so every save changes
// something.
func (c *rushCity) sections() map[string]string {
	out := make(map[string]string, len(c.texts))
	for k, v := range c.texts {
		out[k] = v
	}
	if len(c.call.Sections) > 0 {
		id := c.call.Sections[c.revision%len(c.call.Sections)].ID
		out[id] = fmt.Sprintf("%s Revised (%d).", out[id], c.revision)
	}
	return out
}

// rushWords are what the dossiers' texts are made of.
var rushWords = strings.Fields(`culture creative city network heritage music film design crafts literature
	gastronomy media arts festival residency school youth artists citizens public space library museum workshop
	programme partnership cooperation international sustainable development inclusion women innovation economy
	jobs tourism neighbourhood community education training digital platform exchange mobility funding municipal
	strategy policy plan years annual budget evaluation indicators goals access participation diversity tradition
	memory future the of and to in for with through by our its their will`)

// rushText is words words of sentences, starting with the city's name,
// the same for the same seed.
func rushText(city string, seed uint64, words int) string {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var b strings.Builder
	b.WriteString(city)
	n := len(strings.Fields(city))
	for n < words {
		length := min(8+rng.IntN(11), words-n)
		for k := range length {
			w := rushWords[rng.IntN(len(rushWords))]
			if k == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteByte(' ')
			b.WriteString(w)
		}
		b.WriteByte('.')
		n += length
	}
	return b.String()
}

// saveBody is the body of a save at the city's current revision: what
// json.Marshal of the version, contacts, sections() and the field and
// language gives, assembled from parts encoded once.
func (c *rushCity) saveBody() []byte {
	marked := ""
	if len(c.call.Sections) > 0 {
		marked = c.call.Sections[c.revision%len(c.call.Sections)].ID
	}
	b := make([]byte, 0, c.saveSize)
	b = fmt.Appendf(b, `{"version":%d,`, c.version)
	b = append(b, c.saveHead[1:len(c.saveHead)-1]...)
	b = append(b, `,"sections":{`...)
	first := true
	for _, s := range c.call.Sections {
		q, ok := c.quoted[s.ID]
		if !ok {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, q...)
		if s.ID == marked {
			b = fmt.Appendf(b, " Revised (%d).", c.revision)
		}
		b = append(b, '"')
	}
	return append(b, "}}"...)
}

// rushDossier is what the run reads of a dossier in an answer.
type rushDossier struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Version int    `json:"version"`
}

// readDossier reads the id, state and version of a dossier answer. The
// API writes them before the contacts and sections, so reading stops
// there instead of scanning 22 KB of text; in any other order it reads on.
func readDossier(raw []byte) (rushDossier, error) {
	var d rushDossier
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return d, fmt.Errorf("not a JSON object")
	}
	found := 0
	for found < 3 && dec.More() {
		t, err := dec.Token()
		if err != nil {
			return d, err
		}
		var dst any = new(json.RawMessage)
		switch t {
		case "id":
			dst, found = &d.ID, found+1
		case "state":
			dst, found = &d.State, found+1
		case "version":
			dst, found = &d.Version, found+1
		}
		if err := dec.Decode(dst); err != nil {
			return d, err
		}
	}
	if found < 3 {
		return d, fmt.Errorf("the answer has no id, state or version")
	}
	return d, nil
}

// acknowledged takes the dossier an answer acknowledged as the city's, and
// logs it.
func (r *rushRun) acknowledged(c *rushCity, op rushOp, raw []byte) bool {
	d, err := readDossier(raw)
	if err != nil || d.ID == "" {
		// Acknowledged, but not as the API documents: the city's state is
		// unknown until read again.
		c.stale = true
		return false
	}
	c.id, c.state, c.version = d.ID, d.State, d.Version
	r.ack.record(op, d)
	return true
}

// prepareWorker signs in each of worker w's cities, starts its draft and
// uploads the files the call requires.
func (r *rushRun) prepareWorker(w int, rec rushRecorder, p *rushPhase) {
	for i := w; i < len(r.cities) && !p.over(); i += r.opt.concurrency {
		c := r.cities[i]
		if !r.prepareCity(c, rec) {
			c.retired = true
		}
		p.done.Add(1)
	}
}

func (r *rushRun) prepareCity(c *rushCity, rec rushRecorder) bool {
	login, _ := json.Marshal(map[string]string{"email": c.email, "password": c.password})
	raw, ok := r.send(rec, rushRequest{op: opLogin, method: http.MethodPost, path: "/api/v1/login", contentType: "application/json", body: login})
	if !ok {
		return false
	}
	var res struct{ Token string }
	if err := json.Unmarshal(raw, &res); err != nil || res.Token == "" {
		return false
	}
	c.token = res.Token
	create, _ := json.Marshal(map[string]string{"city": c.name, "country": c.country, "field": c.field, "language": c.language})
	raw, ok = r.send(rec, rushRequest{op: opCreate, method: http.MethodPost, path: "/api/v1/calls/" + url.PathEscape(r.call.ID) + "/applications",
		token: c.token, contentType: "application/json", body: create})
	if !ok || !r.acknowledged(c, opCreate, raw) {
		return false
	}
	for _, slot := range r.call.Attachments {
		if !slot.Required {
			continue
		}
		for n := 1; n <= max(slot.Files, 1); n++ {
			name, content := demoAttachment(slot, n, c.name)
			ct := "application/pdf"
			if !slot.Accepts(engine.FilePDF) {
				ct = "image/jpeg"
			}
			path := fmt.Sprintf("/api/v1/applications/%s/attachments/%s?name=%s&version=%d", c.id, url.PathEscape(slot.ID), url.QueryEscape(name), c.version)
			raw, ok = r.send(rec, rushRequest{op: opUpload, method: http.MethodPost, path: path, token: c.token, contentType: ct, body: content})
			if !ok || !r.acknowledged(c, opUpload, raw) {
				return false
			}
		}
	}
	return true
}

// mixWorker plays worker w's cities until the phase ends: a city's whole
// script, then the next city's (the other clients' requests come in
// between, as other cities' do at a deadline). Each worker finishes at
// least one whole script, so every operation is measured however short
// the phase.
func (r *rushRun) mixWorker(w int, rec rushRecorder, p *rushPhase) {
	mine := r.ownCities(w)
	for cycles := 0; ; cycles++ {
		mine = slices.DeleteFunc(mine, func(c *rushCity) bool { return c.retired })
		if len(mine) == 0 {
			return
		}
		c := mine[cycles%len(mine)]
		for range rushScript {
			if !p.more(cycles) || c.retired {
				break
			}
			r.step(c, rec)
		}
		if !p.more(cycles + 1) {
			return
		}
	}
}

// ownCities are the cities worker w plays: every concurrency-th from w.
func (r *rushRun) ownCities(w int) []*rushCity {
	var mine []*rushCity
	for i := w; i < len(r.cities); i += r.opt.concurrency {
		mine = append(mine, r.cities[i])
	}
	return mine
}

// stormWorker submits worker w's cities' drafts one after the other, and
// retracts the submitted ones so that they can be submitted again: the
// whole submission path (sign-in, state machine, completeness, receipt,
// history, indexes, outbox, one durable commit) and nothing else.
func (r *rushRun) stormWorker(w int, rec rushRecorder, p *rushPhase) {
	mine := r.ownCities(w)
	for i := 0; p.more(i); i++ {
		mine = slices.DeleteFunc(mine, func(c *rushCity) bool { return c.retired })
		if len(mine) == 0 {
			return
		}
		c := mine[i%len(mine)]
		if c.stale && !r.resync(c) {
			continue
		}
		op, event := opStormSubmit, engine.EventSubmit
		switch engine.State(c.state) {
		case engine.Draft:
		case engine.Submitted:
			op, event = opStormRetract, engine.EventRetract
		default:
			c.retired = true
			continue
		}
		body := fmt.Appendf(nil, `{"event":%q,"version":%d}`, event, c.version)
		if !r.write(c, rec, op, http.MethodPost, "/api/v1/applications/"+c.id+"/transitions", body) {
			c.stale = true
		}
	}
}

// submitStep is where the script resumes for a dossier found submitted.
var submitStep = slices.Index(rushScript, opSubmit) + 1

// step makes the city's next move in the script.
func (r *rushRun) step(c *rushCity, rec rushRecorder) {
	if c.stale && !r.resync(c) {
		return
	}
	var ok bool
	switch op := rushScript[c.step]; op {
	case opSave:
		c.revision++
		ok = r.write(c, rec, op, http.MethodPut, "/api/v1/applications/"+c.id, c.saveBody())
	case opSubmit, opRetract:
		body, _ := json.Marshal(map[string]any{"event": string(op), "version": c.version})
		ok = r.write(c, rec, op, http.MethodPost, "/api/v1/applications/"+c.id+"/transitions", body)
	case opStatus:
		// A failed read changes nothing: the script goes on.
		ok = true
		raw, read := r.send(rec, rushRequest{op: op, method: http.MethodGet, path: "/api/v1/applications/" + c.id, token: c.token})
		if !read {
			break
		}
		if d, err := readDossier(raw); err != nil || d.State != c.state || d.Version != c.version {
			// Read-your-writes: the city must see what it was told.
			r.fail(rec.tally(op), op, -1, fmt.Sprintf("dossier %s read as %s v%d after %s v%d was acknowledged", c.id, d.State, d.Version, c.state, c.version))
		}
	}
	if !ok {
		c.stale = true
		return
	}
	c.step = (c.step + 1) % len(rushScript)
}

// write sends one of the city's state-changing requests and takes what
// was acknowledged.
func (r *rushRun) write(c *rushCity, rec rushRecorder, op rushOp, method, path string, body []byte) bool {
	raw, ok := r.send(rec, rushRequest{op: op, method: method, path: path, token: c.token, contentType: "application/json", body: body})
	return ok && r.acknowledged(c, op, raw)
}

// resync reads the city's dossier after a failed write (unmeasured) and
// puts the script where the dossier is.
func (r *rushRun) resync(c *rushCity) bool {
	status, raw, _, err := r.do(http.MethodGet, "/api/v1/applications/"+c.id, c.token, "", nil)
	d, derr := readDossier(raw)
	if err != nil || status != http.StatusOK || derr != nil {
		// The server is down or refusing: wait as a measured request does,
		// rather than spinning on the cores the server would need back.
		time.Sleep(50 * time.Millisecond)
		return false
	}
	c.state, c.version, c.stale = d.State, d.Version, false
	switch engine.State(d.State) {
	case engine.Draft:
		c.step = 0
	case engine.Submitted:
		c.step = submitStep
	default:
		c.retired = true
		return false
	}
	return true
}

// rushAckLog is the file of acknowledged writes: a JSON line each, written
// to the operating system as soon as the answer came, so a server killed
// later is compared with what it had acknowledged (the log survives the
// server, not a crash of this machine, which it is not for).
type rushAckLog struct {
	mu    sync.Mutex
	f     *os.File
	first error
}

// rushAck is one line of the ack log.
type rushAck struct {
	App     string `json:"app"`
	Op      rushOp `json:"op"`
	State   string `json:"state"`
	Version int    `json:"version"`
}

func openRushAckLog(path string) (*rushAckLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ack log: %w", err)
	}
	return &rushAckLog{f: f}, nil
}

// record appends one line with one write; the first failure is kept and
// ends the command with an error, since a log that misses a line is worse
// than none.
func (l *rushAckLog) record(op rushOp, d rushDossier) {
	if l == nil {
		return
	}
	line, _ := json.Marshal(rushAck{App: d.ID, Op: op, State: d.State, Version: d.Version})
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(line); err != nil && l.first == nil {
		l.first = err
	}
}

func (l *rushAckLog) err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

func (l *rushAckLog) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.f.Close(); err != nil && l.first == nil {
		l.first = err
	}
}
