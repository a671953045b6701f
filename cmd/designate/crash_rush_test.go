//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"designate/engine"
	"designate/store"
)

// Issue 7's "nothing lost" tests: the real server as a separate process
// under `designate rush` (also a separate process, the same binary), killed
// with SIGKILL, or stopped with SIGTERM, in the middle of the rush; then
// restarted on the same data, where every write rush saw acknowledged must
// be, with its history, and `designate check` must find the data sound.
// TestCrash_AcceptanceRule checks the rule they judge by (crCompare).
//
// Rounds. TestCrash_SIGKILLDuringRush_LosesNothingAcknowledged plays 3
// rounds on one data directory; DESIGNATE_CRASH_ROUNDS=N plays N. CI plays
// the 20:
//
//	DESIGNATE_CRASH_ROUNDS=20 go test ./cmd/designate -run TestCrash_SIGKILLDuringRush -count=1 -v
//
// Each round kills the server at an instant drawn from a seed logged at the
// start (300 ms to 1.5 s into the mix; one round in four, instead, during
// the preparation's uploads); DESIGNATE_CRASH_SEED=S draws the same
// instants again. Both process tests are skipped with -short. The helpers
// start with "cr".
//
// The test's config is the repository's config.yaml with log_level warn
// (the logs are only read when a test fails) and mail.deliver as there
// (on): the outbox worker then commits beside the rush (marking e-mails
// sent), so a kill may land in its transactions too and `designate check`
// verifies the outbox queues after it; the .eml files it writes cost next
// to nothing.

const (
	crDefaultRounds = 3
	crCities        = 16
	crConcurrency   = 8
	// crRushDuration outlasts any round: rush is stopped (SIGINT) once the
	// server is down.
	crRushDuration = 10 * time.Minute
	// The kill comes this long after the mix's first acknowledged save;
	// or, in one round out of four, up to crKillPrepare after the first
	// acknowledged upload (files in flight, drafts never submitted).
	crKillMin, crKillMax = 300 * time.Millisecond, 1500 * time.Millisecond
	crKillPrepare        = 300 * time.Millisecond
	// crShutdownBudget is Main.Close's: how long in-flight requests get.
	crShutdownBudget = 30 * time.Second
)

// crRounds is DESIGNATE_CRASH_ROUNDS, or crDefaultRounds.
func crRounds(t *testing.T) int {
	t.Helper()
	v := os.Getenv("DESIGNATE_CRASH_ROUNDS")
	if v == "" {
		return crDefaultRounds
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("DESIGNATE_CRASH_ROUNDS=%q: want a positive whole number", v)
	}
	return n
}

// crSeed is DESIGNATE_CRASH_SEED, or a new one; logged so a failure can be
// played again.
func crSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DESIGNATE_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("DESIGNATE_CRASH_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d (DESIGNATE_CRASH_SEED=%d plays the same kill instants)", seed, seed)
	return seed
}

// crKill is when a round stops the server: delay after rush's first
// acknowledged write of the operation after (opSave: the mix; opUpload:
// the preparation).
type crKill struct {
	after rushOp
	delay time.Duration
}

func (k crKill) String() string {
	phase := "the mix"
	if k.after == opUpload {
		phase = "the preparation (uploads)"
	}
	return fmt.Sprintf("%v into %s", k.delay.Round(time.Microsecond), phase)
}

// crKillAt is round's instant, drawn from the seed on its own so one
// round's instant does not depend on the others'; with prepare false it is
// always in the mix.
func crKillAt(seed uint64, round int, prepare bool) crKill {
	rng := rand.New(rand.NewPCG(seed, uint64(round)))
	if prepare && rng.IntN(4) == 0 {
		return crKill{opUpload, time.Duration(rng.Int64N(int64(crKillPrepare)))}
	}
	return crKill{opSave, crKillMin + time.Duration(rng.Int64N(int64(crKillMax-crKillMin)))}
}

// crConfig writes the test's config.yaml: the repository's, quieter.
func crConfig(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	const from, to = "\nlog_level: info\n", "\nlog_level: warn\n"
	if !strings.Contains(text, from) {
		t.Fatalf("config.yaml has no %q: the crash tests' copy needs updating", strings.TrimSpace(from))
	}
	text = strings.Replace(text, from, to, 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// crRushProc is `designate rush` running as its own process.
type crRushProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	ackLog string
	stdout *procOutput
	stderr *procOutput
	done   chan struct{}
}

// crRushReport is the part of rush's --json report the tests read.
type crRushReport struct {
	Params struct {
		Prefix string `json:"prefix"`
	} `json:"params"`
	Ops         map[string]rushFigures `json:"ops"`
	FirstErrors []string               `json:"first_errors"`
	Interrupted bool                   `json:"interrupted"`
}

// crStartRush starts rush against the server, its admin taken from the
// demo's accounts file in data, logging acknowledged writes to ackLog.
func crStartRush(t *testing.T, bin, serverURL, data, ackLog string) *crRushProc {
	t.Helper()
	cmd := exec.Command(bin, "rush", "--addr", serverURL, "--cities", strconv.Itoa(crCities), "--concurrency", strconv.Itoa(crConcurrency),
		"--duration", crRushDuration.String(), "--ack-log", ackLog, "--accounts", filepath.Join(data, demoAccountsFile), "--json")
	// The admin comes from the accounts file, whatever the environment says.
	cmd.Env = slices.DeleteFunc(durWithoutFailpoint(os.Environ()), func(kv string) bool { return strings.HasPrefix(kv, "DESIGNATE_RUSH_ADMIN_") })
	p := &crRushProc{t: t, cmd: cmd, ackLog: ackLog, stdout: &procOutput{}, stderr: &procOutput{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	startProc(t, cmd, p.done)
	return p
}

// waitFor returns once the ack log holds a write of op: for opSave the
// mix has begun (only the mix saves, and every city is prepared before it
// starts); for opUpload the preparation's uploads have.
func (p *crRushProc) waitFor(op rushOp) {
	p.t.Helper()
	mark := []byte(`"op":"` + string(op) + `"`)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(durProcTimeout)
	for {
		raw, err := os.ReadFile(p.ackLog)
		if err != nil && !os.IsNotExist(err) {
			p.t.Fatal(err)
		}
		if bytes.Contains(raw, mark) {
			return
		}
		select {
		case <-tick.C:
		case <-p.done:
			p.t.Fatalf("rush ended (%v) before its first %s\nstdout:\n%s\nstderr:\n%s", p.cmd.ProcessState, op, p.stdout, p.stderr)
		case <-deadline:
			p.t.Fatalf("rush made no %s within %v\nstderr:\n%s", op, durProcTimeout, p.stderr)
		}
	}
}

// stop interrupts rush as Ctrl-C does: it must end at once (a request
// against a dead server fails at once), exit 0 and report what it did.
func (p *crRushProc) stop() crRushReport {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(durProcTimeout):
		p.t.Fatalf("rush did not stop within %v of SIGINT (a hang)\nstderr:\n%s", durProcTimeout, p.stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		p.t.Errorf("rush took %v to stop after SIGINT, want well under 10s", took)
	}
	if !p.cmd.ProcessState.Success() {
		p.t.Fatalf("rush exited with %v after SIGINT\nstdout:\n%s\nstderr:\n%s", p.cmd.ProcessState, p.stdout, p.stderr)
	}
	var rep crRushReport
	if err := json.Unmarshal([]byte(p.stdout.String()), &rep); err != nil {
		p.t.Fatalf("rush's report: %v\n%s", err, p.stdout)
	}
	if !rep.Interrupted {
		p.t.Errorf("rush's report does not say it was interrupted")
	}
	return rep
}

// crAnsweredErrors are the failures rush counted that the server answered
// (any status, and reads that missed an acknowledged write): none is
// expected, since nothing else writes the cities' dossiers and the call is
// open. Transport errors (no answer) are what a server going away causes.
func crAnsweredErrors(rep crRushReport) []string {
	var out []string
	for _, op := range slices.Sorted(maps.Keys(rep.Ops)) {
		for status, n := range rep.Ops[op].ByStatus {
			if status != "transport" {
				out = append(out, fmt.Sprintf("%s %s×%d", op, status, n))
			}
		}
	}
	return out
}

// crTransportErrors is how many of rush's requests had no answer.
func crTransportErrors(rep crRushReport) uint64 {
	var n uint64
	for _, f := range rep.Ops {
		n += f.ByStatus["transport"]
	}
	return n
}

// crReadAcks reads an ack log: each dossier's acknowledged writes, in the
// order they were acknowledged. One client plays a city, one request at a
// time, so a dossier's acknowledged versions must run 1, 2, 3…: a gap would
// be a write the server applied, while it was up, without answering it.
func crReadAcks(t *testing.T, path string) map[string][]rushAck {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	acks := map[string][]rushAck{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a rushAck
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil || a.App == "" || a.State == "" {
			t.Fatalf("ack log line %q: %v", sc.Text(), err)
		}
		if want := len(acks[a.App]) + 1; a.Version != want {
			t.Errorf("ack log: %s acknowledged at v%d after %d acknowledged writes: a write applied without an answer while the server was up", a.App, a.Version, want-1)
		}
		acks[a.App] = append(acks[a.App], a)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return acks
}

// crStored is a dossier as the restarted server holds it.
type crStored struct {
	State   string
	Version int
	History []engine.HistoryEvent
	// Via says where it was read: the API as the admin, or the database
	// (a draft never submitted, which only its city may see).
	Via string
}

// crReadAsAdmin reads every dossier of acks through the API, as the admin,
// with its history. A dossier that never left draft is hidden from the
// admin (404, as if it did not exist): those are returned to be read from
// the database once the server has stopped.
func crReadAsAdmin(t *testing.T, srv *serverProc, data string, ids []string) (map[string]crStored, []string) {
	t.Helper()
	email, password, err := rushAdminFromFile(filepath.Join(data, demoAccountsFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := srv.login(email, password)
	stored := map[string]crStored{}
	var hidden []string
	for _, id := range ids {
		path := "/api/v1/applications/" + url.PathEscape(id)
		status, raw := srv.do("GET", path, admin, nil)
		if status == http.StatusNotFound {
			hidden = append(hidden, id)
			continue
		}
		if status != http.StatusOK {
			t.Fatalf("GET %s as the admin: %d %s", path, status, raw)
		}
		var d rushDossier
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var h struct{ Items []engine.HistoryEvent }
		srv.must(http.StatusOK, "GET", path+"/history", admin, nil, &h)
		stored[id] = crStored{State: d.State, Version: d.Version, History: h.Items, Via: "the API as the admin"}
	}
	return stored, hidden
}

// crReadOffline reads dossiers from the stopped server's database, through
// the engine as the system (which sees every dossier), as the API would.
func crReadOffline(t *testing.T, data string, ids []string, into map[string]crStored) {
	t.Helper()
	if len(ids) == 0 {
		return
	}
	db, files, err := openOffline(data, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer files.Close()
	svc := engine.NewService(db, engine.SystemClock{})
	ctx := context.Background()
	for _, id := range ids {
		app, err := svc.Application(ctx, engine.System, id)
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			continue // crCompare reports it lost
		} else if err != nil {
			t.Fatalf("dossier %s: %v", id, err)
		}
		hist, err := svc.History(ctx, engine.System, id)
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		into[id] = crStored{State: string(app.State), Version: app.Version, History: hist, Via: "the database"}
	}
}

// crMoves are the rush operations that are lifecycle events: each writes
// one history event, named as the operation (saves and uploads write none).
var crMoves = []rushOp{opCreate, opSubmit, opRetract}

// crCompare holds what the server stored against what rush was told, and
// returns a line per problem, and how many dossiers hold one write beyond
// their last acknowledged one.
//
// The acceptance rule. A dossier must hold its last acknowledged version
// and state, or be exactly one write beyond it when unanswered is 1:
//
//   - an acknowledged write was committed and synced before its answer
//     left, so the stored version is never below the last acknowledged one
//     (below is a LOSS);
//   - a refused write (4xx) changes nothing, and rush saw none
//     (crAnsweredErrors);
//   - a write sent but never answered may or may not have landed. One
//     client plays each city and waits for each answer before its next
//     request, net/http never sends a POST or PUT twice, and after a
//     SIGKILL nothing reaches a server: the dead one refuses, and rush is
//     stopped before the restart. So the only such write is the one in
//     flight at the kill: at most one per dossier (unanswered = 1). Every
//     write adds exactly 1 to the version, so the stored version is the
//     last acknowledged one or that plus 1; plus 1 must be a move the
//     script makes from the acknowledged state (a draft saved again or
//     submitted; a submitted dossier retracted).
//   - after a SIGTERM no write may land unanswered (unanswered = 0): the
//     server lets every request it has begun finish and answer, and drops
//     any it reads once stopping without running it (net/http's Serve
//     checks shuttingDown after reading a request). A stored version
//     beyond the acknowledged one would be an accepted request cut off.
//
// The history must be exactly the acknowledged moves (create, submit,
// retract), in order, each with its target state, plus the landed move if
// the write beyond was one; seq runs 1, 2, 3…; so it ends with the stored
// state and holds at least as many events as acknowledged moves.
func crCompare(acks map[string][]rushAck, stored map[string]crStored, unanswered int) (problems []string, beyond int) {
	for _, id := range slices.Sorted(maps.Keys(acks)) {
		list := acks[id]
		last := list[len(list)-1]
		got, ok := stored[id]
		if !ok {
			problems = append(problems, fmt.Sprintf("LOST: %s is not there at all; it was acknowledged %s v%d (%s)", id, last.State, last.Version, last.Op))
			continue
		}
		var want []engine.HistoryEvent
		for _, a := range list {
			if slices.Contains(crMoves, a.Op) {
				want = append(want, engine.HistoryEvent{Event: string(a.Op), To: engine.State(a.State)})
			}
		}
		switch {
		case got.Version < last.Version:
			problems = append(problems, fmt.Sprintf("LOST: %s is %s v%d (read from %s), but %s v%d was acknowledged (%s)", id, got.State, got.Version, got.Via, last.State, last.Version, last.Op))
			continue
		case got.Version > last.Version+unanswered:
			problems = append(problems, fmt.Sprintf("%s is %s v%d (read from %s): more than %d write(s) beyond the acknowledged %s v%d", id, got.State, got.Version, got.Via, unanswered, last.State, last.Version))
			continue
		case got.Version == last.Version && got.State != last.State:
			problems = append(problems, fmt.Sprintf("%s is %s at the acknowledged v%d (read from %s), which was acknowledged as %s", id, got.State, got.Version, got.Via, last.State))
			continue
		case got.Version > last.Version:
			next := map[string][]string{string(engine.Draft): {string(engine.Draft), string(engine.Submitted)}, string(engine.Submitted): {string(engine.Draft)}}
			if !slices.Contains(next[last.State], got.State) {
				problems = append(problems, fmt.Sprintf("%s is %s v%d (read from %s): no write rush makes leads there from the acknowledged %s v%d", id, got.State, got.Version, got.Via, last.State, last.Version))
				continue
			}
			beyond++
			if got.State != last.State {
				event := map[string]rushOp{string(engine.Submitted): opSubmit, string(engine.Draft): opRetract}[got.State]
				want = append(want, engine.HistoryEvent{Event: string(event), To: engine.State(got.State)})
			}
		}
		if msg := crHistoryDiffers(got.History, want); msg != "" {
			problems = append(problems, fmt.Sprintf("%s (%s v%d, read from %s): history %s", id, got.State, got.Version, got.Via, msg))
		}
	}
	return problems, beyond
}

// crHistoryDiffers says how a history differs from the moves expected, or
// "" when it holds exactly them.
func crHistoryDiffers(got, want []engine.HistoryEvent) string {
	show := func(h []engine.HistoryEvent) string {
		parts := make([]string, len(h))
		for i, e := range h {
			parts[i] = fmt.Sprintf("%d:%s→%s", e.Seq, e.Event, e.To)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	if len(got) != len(want) {
		return fmt.Sprintf("has %d events %s, want %d (the acknowledged moves)", len(got), show(got), len(want))
	}
	for i, e := range got {
		if e.Seq != i+1 || e.Event != want[i].Event || e.To != want[i].To {
			return fmt.Sprintf("is %s, want the acknowledged moves %s", show(got), show(want))
		}
	}
	return ""
}

// The acceptance rule itself, on made-up dossiers: what it lets through
// and what it calls a loss.
func TestCrash_AcceptanceRule(t *testing.T) {
	ack := func(op rushOp, state string, v int) rushAck {
		return rushAck{App: "A", Op: op, State: state, Version: v}
	}
	ev := func(seq int, event, to string) engine.HistoryEvent {
		return engine.HistoryEvent{Seq: seq, Event: event, To: engine.State(to)}
	}
	// Created, saved, submitted: acknowledged submitted v3.
	acks := []rushAck{ack(opCreate, "draft", 1), ack(opSave, "draft", 2), ack(opSubmit, "submitted", 3)}
	moves := []engine.HistoryEvent{ev(1, "create", "draft"), ev(2, "submit", "submitted")}
	for _, c := range []struct {
		name       string
		stored     crStored
		unanswered int
		problem    string // a part of the one problem expected, or "" for none
		beyond     int
	}{
		{"AsAcknowledged", crStored{State: "submitted", Version: 3, History: moves}, 1, "", 0},
		{"InFlightRetractLanded", crStored{State: "draft", Version: 4, History: append(slices.Clone(moves), ev(3, "retract", "draft"))}, 1, "", 1},
		{"InFlightRetractLanded_AfterSIGTERM", crStored{State: "draft", Version: 4, History: append(slices.Clone(moves), ev(3, "retract", "draft"))}, 0, "more than 0 write(s) beyond", 0},
		{"InFlightRetractWithoutItsEvent", crStored{State: "draft", Version: 4, History: moves}, 1, "history has 2 events", 1},
		{"TwoBeyond", crStored{State: "submitted", Version: 5, History: moves}, 1, "more than 1 write(s) beyond", 0},
		{"VersionLost", crStored{State: "draft", Version: 2, History: moves[:1]}, 1, "LOST", 0},
		{"DossierLost", crStored{}, 1, "LOST", 0},
		{"StateDiffers", crStored{State: "draft", Version: 3, History: moves}, 1, "which was acknowledged as submitted", 0},
		{"SubmittedToSubmitted", crStored{State: "submitted", Version: 4, History: moves}, 1, "no write rush makes", 0},
		{"MoveMissing", crStored{State: "submitted", Version: 3, History: moves[1:]}, 1, "history has 1 events", 0},
		{"SeqGap", crStored{State: "submitted", Version: 3, History: []engine.HistoryEvent{ev(1, "create", "draft"), ev(3, "submit", "submitted")}}, 1, "history is", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			stored := map[string]crStored{}
			if c.stored.Version > 0 {
				stored["A"] = c.stored
			}
			problems, beyond := crCompare(map[string][]rushAck{"A": acks}, stored, c.unanswered)
			switch {
			case c.problem == "" && len(problems) > 0:
				t.Fatalf("problems %q, want none", problems)
			case c.problem != "" && (len(problems) != 1 || !strings.Contains(problems[0], c.problem)):
				t.Fatalf("problems %q, want one saying %q", problems, c.problem)
			case beyond != c.beyond:
				t.Fatalf("beyond %d, want %d", beyond, c.beyond)
			}
		})
	}
}

// crVerify takes the server restarted on data: it reads every
// acknowledged dossier, stops the server, reads the drafts the admin may
// not see from the database, holds all against the acknowledgements, then
// runs `designate check`.
func crVerify(t *testing.T, bin, data string, srv *serverProc, acks map[string][]rushAck, unanswered int, label string) {
	t.Helper()
	ids := slices.Sorted(maps.Keys(acks))
	stored, hidden := crReadAsAdmin(t, srv, data, ids)
	srv.stop()
	crReadOffline(t, data, hidden, stored)
	problems, beyond := crCompare(acks, stored, unanswered)
	writes := 0
	for _, l := range acks {
		writes += len(l)
	}
	t.Logf("%s: %d dossiers, %d acknowledged writes; %d one write beyond their last acknowledged one (the write in flight landed); %d read from the database (never submitted, hidden from the admin); %d problem(s)",
		label, len(acks), writes, beyond, len(hidden), len(problems))
	for _, p := range problems {
		t.Errorf("%s: %s", label, p)
	}
	out, code := runDesignateBinary(t, bin, "check", "--data", data)
	if code != 0 || !strings.Contains(out, "sound") {
		t.Errorf("%s: designate check exited %d:\n%s", label, code, out)
	}
}

// A SIGKILL at a random moment of the rush loses nothing acknowledged:
// round after round on the same data, the restarted server holds every
// dossier rush was told about, in the state it was told (or one write
// beyond, the one in flight at the kill), with its history, and the data
// passes every invariant `designate check` knows.
func TestCrash_SIGKILLDuringRush_LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and plays rounds of rush against it")
	}
	rounds, seed := crRounds(t), crSeed(t)
	bin := buildBinary(t)
	config := crConfig(t)
	data := filepath.Join(t.TempDir(), "data")
	logs := t.TempDir()
	for round := 1; round <= rounds; round++ {
		ok := t.Run(fmt.Sprintf("round_%02d", round), func(t *testing.T) {
			start := time.Now()
			srv := startServerProc(t, bin, config, data)
			ackLog := filepath.Join(logs, fmt.Sprintf("acks-%02d.jsonl", round))
			rush := crStartRush(t, bin, srv.URL, data, ackLog)
			kill := crKillAt(seed, round, true)
			rush.waitFor(kill.after)
			// The kill instant is the point of the round: a sleep by design.
			time.Sleep(kill.delay)
			if err := srv.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			ps := srv.wait()
			if ws, ok := ps.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the server ended with %v before the kill\nstderr:\n%s", ps, srv.stderr)
			}
			rep := rush.stop()
			if bad := crAnsweredErrors(rep); len(bad) > 0 {
				t.Errorf("rush had answered failures: %s\nfirst errors: %q", strings.Join(bad, ", "), rep.FirstErrors)
			}
			acks := crReadAcks(t, ackLog)
			label := fmt.Sprintf("round %d (seed %d, SIGKILL %v, rush %s)", round, seed, kill, rep.Params.Prefix)
			t.Logf("%s: rush had %d requests without an answer", label, crTransportErrors(rep))
			crVerify(t, bin, data, startServerProc(t, bin, config, data), acks, 1, label)
			t.Logf("round %d took %v", round, time.Since(start).Round(time.Millisecond))
		})
		if !ok {
			t.Fatalf("round %d failed (seed %d): later rounds would start from its data", round, seed)
		}
	}
}

// crSlowUpload is an upload a test holds in flight: the server has begun
// it (asked for its body with 100 Continue) and waits for the body.
type crSlowUpload struct {
	t       *testing.T
	body    *io.PipeWriter
	content []byte
	answer  chan crAnswer
}

type crAnswer struct {
	status int
	raw    []byte
	err    error
}

// crStartSlowUpload sends the headers of an upload of the Mayor's letter to
// the draft, with Expect: 100-continue, and returns once the server's
// handler asks for the body: from then on the request is in flight.
func crStartSlowUpload(t *testing.T, srv *serverProc, token string, draft durDossier) *crSlowUpload {
	t.Helper()
	content := demoPDF("Crash Probe City", "Letter from the Mayor", "sent while the server stops")
	pr, pw := io.Pipe()
	path := fmt.Sprintf("%s/api/v1/applications/%s/attachments/mayor-letter?name=letter.pdf&version=%d", srv.URL, url.PathEscape(draft.ID), draft.Version)
	continued := make(chan struct{})
	var once sync.Once
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { once.Do(func() { close(continued) }) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(content))
	req.Header.Set("Content-Type", "application/pdf")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Expect", "100-continue")
	// The body waits for the 100 however long it takes.
	client := &http.Client{Timeout: durProcTimeout, Transport: &http.Transport{DisableKeepAlives: true, ExpectContinueTimeout: durProcTimeout}}
	u := &crSlowUpload{t: t, body: pw, content: content, answer: make(chan crAnswer, 1)}
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			u.answer <- crAnswer{err: err}
			return
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		u.answer <- crAnswer{status: resp.StatusCode, raw: raw, err: err}
	}()
	select {
	case <-continued:
	case a := <-u.answer:
		t.Fatalf("the upload was answered before it sent its body: %d %s %v", a.status, a.raw, a.err)
	case <-time.After(durProcTimeout):
		t.Fatalf("the server did not ask for the upload's body within %v", durProcTimeout)
	}
	return u
}

// finish sends the body and returns the answer.
func (u *crSlowUpload) finish() crAnswer {
	u.t.Helper()
	go func() {
		_, err := u.body.Write(u.content)
		u.body.CloseWithError(err)
	}()
	select {
	case a := <-u.answer:
		return a
	case <-time.After(durProcTimeout):
		u.t.Fatalf("the upload had no answer within %v of its body", durProcTimeout)
		return crAnswer{}
	}
}

// crWaitListenerClosed returns once the server refuses new connections:
// it has begun its shutdown.
func crWaitListenerClosed(t *testing.T, serverURL string) {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(durProcTimeout)
	for {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the server still takes connections %v after SIGTERM", durProcTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SIGTERM in the middle of the rush stops the server cleanly: a request it
// had begun before the signal (an upload whose body it was still reading
// when it stopped listening) is answered and kept, the process exits 0
// within its shutdown budget, and after a restart every write rush saw
// acknowledged is there, none beyond (a stopping server answers whatever
// it applies), with its history; `designate check` finds the data sound.
//
// How the rush's own requests are judged: rush counts a request without an
// answer as a "transport" error, and cannot tell a connection refused (the
// listener is closed) or a keep-alive connection the server closed as idle
// (it never ran the request) from an accepted request cut off: all are
// "transport", and a reset can come from either. So the assertion is not
// on the errors but on their effect: a write the server applied without
// answering would show as a stored version beyond the acknowledged one
// (crCompare with unanswered = 0), and a read cut off changes nothing. The
// held upload proves that a request in flight at the signal finishes;
// every failure rush counts must be a transport one (an answered failure
// or a read missing an acknowledged write is a bug).
func TestSIGTERM_UnderRush_InFlightFinishAndNothingLost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and plays rush against it")
	}
	seed := crSeed(t)
	bin := buildBinary(t)
	config := crConfig(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := startServerProc(t, bin, config, data)

	// A city of the test's own, whose upload is held in flight.
	email, password, err := rushAdminFromFile(filepath.Join(data, demoAccountsFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := srv.login(email, password)
	const probeEmail, probePassword = "crash-probe@example.org", "crash probe city password"
	srv.must(http.StatusCreated, "POST", "/api/v1/users", admin, map[string]string{
		"email": probeEmail, "password": probePassword, "role": "applicant", "country": "LU", "city": "Crash Probe City"}, nil)
	probe := srv.login(probeEmail, probePassword)
	var draft durDossier
	srv.must(http.StatusCreated, "POST", "/api/v1/calls/uccn-2027/applications", probe,
		map[string]string{"city": "Crash Probe City", "country": "LU", "field": "Film", "language": "en"}, &draft)

	ackLog := filepath.Join(t.TempDir(), "acks.jsonl")
	rush := crStartRush(t, bin, srv.URL, data, ackLog)
	kill := crKillAt(seed, 0, false)
	rush.waitFor(kill.after)
	time.Sleep(kill.delay) // when the signal comes is the point: a sleep by design
	upload := crStartSlowUpload(t, srv, probe, draft)
	signalled := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	crWaitListenerClosed(t, srv.URL)
	answer := upload.finish()
	if answer.err != nil || answer.status != http.StatusCreated {
		t.Fatalf("the upload in flight at SIGTERM: status %d, %v, body %s; want 201", answer.status, answer.err, answer.raw)
	}
	var uploaded rushDossier
	if err := json.Unmarshal(answer.raw, &uploaded); err != nil || uploaded.Version != draft.Version+1 {
		t.Fatalf("the upload's answer: %s (%v), want the draft at v%d", answer.raw, err, draft.Version+1)
	}
	ps := srv.wait()
	stopped := time.Since(signalled)
	if !ps.Success() {
		t.Fatalf("the server exited with %v after SIGTERM, want 0\nstdout:\n%s\nstderr:\n%s", ps, srv.stdout, srv.stderr)
	}
	if stopped > crShutdownBudget {
		t.Errorf("the server took %v to stop after SIGTERM, over its %v budget", stopped, crShutdownBudget)
	}
	if !strings.Contains(srv.stdout.String(), "finishing requests in flight") {
		t.Errorf("the server did not say it was finishing requests in flight:\n%s", srv.stdout)
	}
	rep := rush.stop()
	if bad := crAnsweredErrors(rep); len(bad) > 0 {
		t.Errorf("rush had answered failures: %s\nfirst errors: %q", strings.Join(bad, ", "), rep.FirstErrors)
	}
	label := fmt.Sprintf("SIGTERM %v (seed %d, rush %s), stopped in %v", kill, seed, rep.Params.Prefix, stopped.Round(time.Millisecond))
	t.Logf("%s: rush had %d requests without an answer; first errors %q", label, crTransportErrors(rep), rep.FirstErrors)

	acks := crReadAcks(t, ackLog)
	acks[draft.ID] = []rushAck{
		{App: draft.ID, Op: opCreate, State: draft.State, Version: draft.Version},
		{App: draft.ID, Op: opUpload, State: uploaded.State, Version: uploaded.Version},
	}
	crVerify(t, bin, data, startServerProc(t, bin, config, data), acks, 0, label)
}
