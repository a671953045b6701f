package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// rushReportForTest is the part of `designate rush --json` the tests read.
type rushReportForTest struct {
	Params struct {
		Call       string `json:"call"`
		Prefix     string `json:"prefix"`
		Cities     int    `json:"cities"`
		WriteBytes int    `json:"write_bytes"`
	} `json:"params"`
	Ops       map[string]rushFigures `json:"ops"`
	Baselines map[string]rushFigures `json:"baselines"`
	Ratios    map[string]float64     `json:"ratios"`
	Phases    []rushPhaseLength      `json:"phases"`
	SMTPSink  *struct {
		Addr       string `json:"addr"`
		Mails      int64  `json:"mails"`
		Recipients int64  `json:"recipients"`
	} `json:"smtp_sink"`
}

// rushMain starts the real server with the demo, the bench endpoints on or
// off, and returns it with its data directory.
func rushMain(tb testing.TB, bench bool) (*TestMain, string) {
	tb.Helper()
	dir := tb.TempDir()
	cfg := ConfigForTest(tb, dir, true)
	cfg.Bench.Endpoints = bench
	return MustRunMainConfig(tb, cfg, engine.NewManualClock(testStart)), dir
}

// rushMainWithSink is rushMain with the bench endpoints on and the outbox
// delivering over SMTP to addr, where `rush --smtp-sink addr` will listen.
// The demo's own e-mails are sent (to nowhere) before delivery is turned
// on, so the outbox is empty when rush starts and its backlog is rush's.
func rushMainWithSink(tb testing.TB) (*TestMain, string, string) {
	tb.Helper()
	tm, dir := rushMain(tb, true)
	if _, err := tm.Main.Service.DeliverDue(context.Background(), rushNowhere{}, nil); err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	mc := &tm.Main.Config.Mail
	mc.Deliver = true
	mc.SMTP.Host, mc.SMTP.Port, mc.SMTP.StartTLS, mc.SMTP.Username, mc.SMTP.Password = "127.0.0.1", addr.Port, false, "", ""
	return tm.Restart(), dir, addr.String()
}

// rushNowhere takes every copy and sends it nowhere.
type rushNowhere struct{}

func (rushNowhere) Send(context.Context, *engine.Message, *engine.Call, engine.Recipient) error {
	return nil
}

// rushLastAcks reads the ack log: each dossier's last acknowledged line.
func rushLastAcks(tb testing.TB, path string) map[string]rushAck {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	last := map[string]rushAck{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a rushAck
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil || a.App == "" || a.State == "" || a.Version < 1 {
			tb.Fatalf("ack log line %q: %v", sc.Text(), err)
		}
		if prev, ok := last[a.App]; ok && a.Version <= prev.Version {
			tb.Fatalf("ack log: %s acknowledged at v%d after v%d", a.App, a.Version, prev.Version)
		}
		last[a.App] = a
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return last
}

func TestRush_PlaysTheCities_AndTheServerHoldsWhatItAcknowledged(t *testing.T) {
	tm, dir, sink := rushMainWithSink(t)
	accounts := filepath.Join(dir, demoAccountsFile)
	ackLog := filepath.Join(t.TempDir(), "acks.jsonl")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"rush", "--addr", tm.URL(), "--cities", "8", "--concurrency", "4",
		"--duration", "500ms", "--json", "--baseline", "--storm", "--lists", "--ack-log", ackLog, "--accounts", accounts,
		"--smtp-sink", sink, "--drain-timeout", "1m"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("rush: %v\nstderr:\n%s", err, stderr.String())
	}

	var rep rushReportForTest
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	var whole map[string]json.RawMessage
	if err := dec.Decode(&whole); err != nil {
		t.Fatalf("stdout is not one JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout has more than one JSON object")
	}
	raw, _ := json.Marshal(whole)
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Params.Call != "uccn-2027" || rep.Params.Cities != 8 || rep.Params.WriteBytes < 1000 {
		t.Errorf("params %+v: want the demo call, 8 cities and a submitted dossier's size", rep.Params)
	}
	for name, want := range map[string][]string{
		"ops":       {"login", "create", "upload", "save", "submit", "status", "retract", "storm_submit", "storm_retract", "list"},
		"baselines": {"baseline_write", "hello", "status_one"},
	} {
		got := rep.Ops
		if name == "baselines" {
			got = rep.Baselines
		}
		for _, op := range want {
			f, ok := got[op]
			if !ok || f.Count == 0 || f.Errors != 0 || f.PerS <= 0 || f.P99 <= 0 || f.Max < f.P99 {
				t.Errorf("%s.%s = %+v: want requests, no errors, a throughput and latencies\nstderr:\n%s", name, op, f, stderr.String())
			}
		}
	}
	for _, k := range []string{"submit_per_baseline_write", "writes_per_baseline_write", "submit_p99_over_baseline_write_p99", "status_per_hello", "status_one_per_hello",
		"storm_submit_per_baseline_write", "storm_writes_per_baseline_write", "storm_submit_p99_over_baseline_write_p99"} {
		if rep.Ratios[k] <= 0 {
			t.Errorf("ratio %s = %v, want > 0 (ratios %v)", k, rep.Ratios[k], rep.Ratios)
		}
	}
	if !strings.Contains(stderr.String(), "rush: mix") {
		t.Errorf("stderr has no progress line for the mix:\n%s", stderr.String())
	}

	// After each phase, the outbox: every submission wrote two e-mails
	// (to the city, to its commission; a retraction none), all sent to the
	// sink before the next phase, and sustained says whether that took no
	// longer than the phase.
	written := map[string]int{}
	sent := 0
	for _, ph := range rep.Phases {
		ob := ph.Outbox
		if ob == nil {
			t.Errorf("phase %s has no outbox figures", ph.Name)
			continue
		}
		written[ph.Name] = ob.Written
		if !ob.Drained || ob.Left != 0 || ob.Retrying != 0 || ob.Sustained != (ob.DrainS <= ph.Seconds) || (ob.PendingAtEnd == 0 && ob.DrainS != 0) {
			t.Errorf("phase %s: outbox %+v: want drained, and sustained exactly when the drain took no longer than the phase's %.3fs", ph.Name, *ob, ph.Seconds)
		}
		sent += ob.Written
	}
	for phase, op := range map[string]string{"mix": "submit", "submit_storm": "storm_submit"} {
		if want := 2 * int(rep.Ops[op].Count); written[phase] != want || want == 0 {
			t.Errorf("phase %s wrote %d e-mails; its %d submissions write %d", phase, written[phase], rep.Ops[op].Count, want)
		}
	}
	for _, phase := range []string{"prepare", "baseline_write", "hello", "status_one", "lists"} {
		if written[phase] != 0 {
			t.Errorf("phase %s wrote %d e-mails, want none", phase, written[phase])
		}
	}
	// Each message goes to the city's account and its contact, or to the
	// commission's accounts: at least one copy each, one recipient a copy.
	if s := rep.SMTPSink; s == nil || s.Addr != sink || s.Mails < int64(sent) || s.Recipients != s.Mails {
		t.Errorf("smtp sink %+v: want at %s at least %d e-mails, one recipient each", s, sink, sent)
	}

	// Each city's dossier, as the city sees it, is what the log says the
	// server last acknowledged. The admin gives each rush account a known
	// password, so the test signs in as the city, as a person would.
	last := rushLastAcks(t, ackLog)
	email, password, err := rushAdminFromFile(accounts)
	if err != nil {
		t.Fatal(err)
	}
	admin := tm.MustLogin(email, password)
	var users struct{ Items []engine.User }
	tm.MustDo(200, "GET", "/api/v1/users", admin, nil, &users)
	seen := map[string]bool{}
	for _, u := range users.Items {
		if !strings.HasPrefix(u.Email, rep.Params.Prefix+"-") {
			continue
		}
		tm.MustDo(200, "PATCH", "/api/v1/users/"+u.ID, admin, map[string]string{"password": testPassword}, nil)
		city := tm.MustLogin(u.Email, testPassword)
		var page Page
		tm.MustDo(200, "GET", "/api/v1/applications?call=uccn-2027", city, nil, &page)
		if len(page.Items) != 1 {
			t.Fatalf("%s has %d dossiers, want 1", u.City, len(page.Items))
		}
		d := page.Items[0]
		a, ok := last[d.ID]
		switch {
		case !ok:
			t.Errorf("%s's dossier %s is not in the ack log", u.City, d.ID)
		case d.State != a.State || d.Version != a.Version:
			t.Errorf("%s's dossier %s is %s v%d; the last acknowledged was %s v%d (%s)", u.City, d.ID, d.State, d.Version, a.State, a.Version, a.Op)
		}
		seen[d.ID] = true
	}
	if len(seen) != 8 || len(last) != 8 {
		t.Errorf("%d dossiers found, %d in the ack log; want 8 of each", len(seen), len(last))
	}

	// The bench bucket the baseline filled is no problem for the check.
	tm.Stop()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "--data", dir}, &out, &out); err != nil {
		t.Errorf("check after a rush: %v\n%s", err, out.String())
	}
}

// A save's body, assembled from parts encoded once, is what encoding the
// whole form gives; the dossier answer is read as a full decode reads it.
func TestRush_SaveBodyAndDossierReading(t *testing.T) {
	call := engine.Call{ID: "c", Fields: []string{"Film"}, Languages: []string{"fr"}, Sections: []engine.Section{
		{ID: "vision", WordLimit: 40}, {ID: "plan-<&>", WordLimit: 30}, {ID: "goals", WordLimit: 0}}}
	r := &rushRun{prefix: "rush-test", call: call}
	c := newRushCity(r, 3)
	c.texts["vision"] += " \"quoted\" <b> & é \u2028"
	c.encodeSaveParts()
	for _, rev := range []int{0, 1, 2, 7} {
		c.revision, c.version = rev, 10+rev
		want, _ := json.Marshal(map[string]any{"version": c.version, "contacts": c.contacts(), "sections": c.sections(),
			"field": c.field, "language": c.language})
		var got, exp map[string]any
		if err := json.Unmarshal(c.saveBody(), &got); err != nil {
			t.Fatalf("revision %d: the body is not JSON: %v\n%s", rev, err, c.saveBody())
		}
		json.Unmarshal(want, &exp)
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("revision %d: body\n%s\nwant\n%s", rev, c.saveBody(), want)
		}
	}
	for _, tc := range []struct {
		raw  string
		want rushDossier
		ok   bool
	}{
		{`{"id":"A","call":"c","state":"draft","version":3,"sections":{"x":"y"}}`, rushDossier{"A", "draft", 3}, true},
		{`{"sections":{"x":"y"},"version":4,"state":"submitted","id":"B"}`, rushDossier{"B", "submitted", 4}, true},
		{`{"id":"A","state":"draft"}`, rushDossier{}, false},
		{`{"id":"A","state":"draft","version":"x"}`, rushDossier{}, false},
		{`[1]`, rushDossier{}, false},
	} {
		got, err := readDossier([]byte(tc.raw))
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("readDossier(%s) = %+v, %v; want %+v, ok %v", tc.raw, got, err, tc.want, tc.ok)
		}
	}
}

// The table shows, per phase, the e-mails written, the backlog, the drain
// and whether the rate was sustained, and what the sink received.
func TestRushReport_Table_ShowsTheOutboxAfterEachPhase(t *testing.T) {
	rep := &rushReport{
		Phases: []rushPhaseLength{
			{Name: "prepare", Seconds: 1.2, Outbox: &rushOutbox{Drained: true, Sustained: true}},
			{Name: "mix", Seconds: 10, Outbox: &rushOutbox{Written: 2612, PendingAtEnd: 1830, Drained: true, DrainS: 4.1, Sustained: true}},
			{Name: "submit_storm", Seconds: 10, Outbox: &rushOutbox{Written: 20664, PendingAtEnd: 18000, DrainS: 60, Left: 1200, Retrying: 7}},
			{Name: "lists", Seconds: 10},
		},
		SMTPSink: &rushSink{Addr: "127.0.0.1:2525", Mails: 52000, Recipients: 52000},
	}
	var out bytes.Buffer
	rep.writeTable(&out)
	for _, want := range []string{
		"outbox after each phase (sustained: its e-mails sent within the phase's own length)",
		"  mix 10.0s           written   2612  pending at end   1830  drained in 4.1s                  sustained: yes (4.1s against 10.0s)",
		"  submit_storm 10.0s  written  20664  pending at end  18000  not drained: 1200 left after 60.0s sustained: no (60.0s against 10.0s), 7 waiting for a retry",
		"smtp sink 127.0.0.1:2525 received 52000 e-mails (52000 recipients)",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("the table has no line\n%q\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "  lists 10.0s  written") {
		t.Errorf("a phase without outbox figures has an outbox line:\n%s", out.String())
	}
}

func TestRush_BenchEndpoints_AreOffByDefault(t *testing.T) {
	tm, dir := rushMain(t, false)
	tm.MustFail(404, engine.ENOTFOUND, "GET", "/api/v1/bench/hello", "", nil)
	tm.MustFail(404, engine.ENOTFOUND, "POST", "/api/v1/bench/write?key=k", "", "x")

	// And rush --baseline says so, failing, before it makes any account.
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"rush", "--addr", tm.URL(), "--cities", "2", "--concurrency", "1",
		"--duration", "100ms", "--baseline", "--accounts", filepath.Join(dir, demoAccountsFile)}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "bench.endpoints") {
		t.Fatalf("rush --baseline against a server without the endpoints: %v, want an error naming bench.endpoints", err)
	}
}

func TestRush_BenchWrite_RefusesABadKey(t *testing.T) {
	tm, _ := rushMain(t, true)
	tm.MustDo(200, "GET", "/api/v1/bench/hello", "", nil, nil)
	tm.MustFail(400, engine.EINVALID, "POST", "/api/v1/bench/write", "", "x")
	tm.MustFail(400, engine.EINVALID, "POST", "/api/v1/bench/write?key=a/b", "", "x")
	tm.MustFail(413, engine.ETOOLARGE, "POST", "/api/v1/bench/write?key=k", "", strings.Repeat("x", 1<<20+1))
	if r := tm.MustSend("POST", "/api/v1/bench/write?key=k", "", "x"); r.Status != 204 {
		t.Fatalf("bench write: status %d, want 204; body %s", r.Status, r.Body)
	}
}

func TestRush_BadFlags_AreAUsageError(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"MissingAddr", []string{}, "--addr is required"},
		{"NegativeConcurrency", []string{"--addr", "http://127.0.0.1:1", "--concurrency", "-1"}, "--concurrency must be at least 1"},
		{"ZeroCities", []string{"--addr", "http://127.0.0.1:1", "--cities", "0"}, "--cities must be at least 1"},
		{"MoreClientsThanCities", []string{"--addr", "http://127.0.0.1:1", "--cities", "2", "--concurrency", "3"}, "must not exceed --cities"},
		{"ZeroDuration", []string{"--addr", "http://127.0.0.1:1", "--duration", "0s"}, "--duration must be positive"},
		{"NegativeDrainTimeout", []string{"--addr", "http://127.0.0.1:1", "--drain-timeout", "-1s"}, "--drain-timeout must not be negative"},
		{"NotAURL", []string{"--addr", "127.0.0.1:8080"}, "must be an http:// or https:// URL"},
		{"HalfTheCredentials", []string{"--addr", "http://127.0.0.1:1", "--admin-email", "a@example.org"}, "give both"},
		{"UnknownFlag", []string{"--addr", "http://127.0.0.1:1", "--citiez", "3"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"rush"}, tc.args...), &stdout, &stderr)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err %v, want errUsage", err)
			}
			if !strings.Contains(stderr.String(), tc.says) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.says)
			}
		})
	}
}

func TestRushHistogram_QuantilesAreWithinTheBucketPrecision(t *testing.T) {
	var h rushHistogram
	for i := 1; i <= 10000; i++ {
		h.add(time.Duration(i) * 10 * time.Microsecond) // 10 µs .. 100 ms, uniform
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.95, 95 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*1.035 {
			t.Errorf("quantile(%v) = %v, want %v within 3.5%% above", tc.q, got, tc.want)
		}
	}
	for us := uint64(0); us < 1<<20; us += 7 {
		if i := rushBucket(us); us > rushBucketTop(i) || (i > 0 && us <= rushBucketTop(i-1)) {
			t.Fatalf("%d µs is in bucket %d, which holds up to %d (the one before, %d)", us, i, rushBucketTop(i), rushBucketTop(i-1))
		}
	}
}
