package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rushReport is what `designate rush --json` prints, and the table shows.
type rushReport struct {
	Params rushParams `json:"params"`
	Setup  rushSetup  `json:"setup"`
	// Phases are the phases run, in order, with their length.
	Phases []rushPhaseLength `json:"phases"`
	// Ops are the product's operations: login, create and upload from the
	// prepare phase; save, submit, status and retract from the mix.
	Ops map[rushOp]rushFigures `json:"ops"`
	// Baselines are baseline_write, hello and status_one, with --baseline.
	Baselines map[rushOp]rushFigures `json:"baselines,omitempty"`
	// Ratios compare the product with the baselines of the same run.
	Ratios      map[string]float64 `json:"ratios,omitempty"`
	FirstErrors []string           `json:"first_errors,omitempty"`
	// Interrupted is set when Ctrl-C ended the run early.
	Interrupted bool `json:"interrupted,omitempty"`
	// SMTPSink is what the --smtp-sink server received.
	SMTPSink *rushSink `json:"smtp_sink,omitempty"`

	phases []rushPhaseResult
}

// rushParams are the run's parameters.
type rushParams struct {
	Addr        string   `json:"addr"`
	Call        string   `json:"call"`
	Prefix      string   `json:"prefix"`
	Cities      int      `json:"cities"`
	Concurrency int      `json:"concurrency"`
	Duration    string   `json:"duration"`
	DurationS   float64  `json:"duration_s"`
	Baseline    bool     `json:"baseline"`
	Mix         []rushOp `json:"mix"`
	// WriteBytes is the size of a submitted dossier's record, which each
	// baseline write stores.
	WriteBytes int `json:"write_bytes,omitempty"`
}

// rushSetup is the unmeasured setup: the accounts made.
type rushSetup struct {
	Accounts int     `json:"accounts"`
	Seconds  float64 `json:"seconds"`
}

// rushPhaseLength is a phase run and how long it took.
type rushPhaseLength struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	// Outbox is the e-mails the phase wrote and how long they took to
	// leave, when the outbox is followed.
	Outbox *rushOutbox `json:"outbox,omitempty"`
}

// rushPhase is a phase while it runs, as its workers and the progress line
// see it.
type rushPhase struct {
	name  string
	start time.Time
	// until ends a timed phase; zero for a phase that ends with its work,
	// total units of it.
	until time.Time
	total int
	done  atomic.Int64
	r     *rushRun
}

// over reports whether a worker should stop: the phase's time is up, or
// the run was interrupted.
func (p *rushPhase) over() bool {
	return p.r.ctx.Err() != nil || (!p.until.IsZero() && !time.Now().Before(p.until))
}

// more reports whether a worker that has done done rounds of its work
// goes on: until the phase's time is up, but at least one round (a
// request, or a city's whole script), so even a very short phase on a
// loaded machine measures every operation; an interruption stops it at
// once.
func (p *rushPhase) more(done int) bool {
	return p.r.ctx.Err() == nil && (done == 0 || !p.over())
}

// rushPhaseResult is a finished phase: its length and its workers' merged
// tallies.
type rushPhaseResult struct {
	name    string
	elapsed time.Duration
	tallies map[rushOp]*rushTally
	outbox  *rushOutbox
}

// runPhase runs work on every worker, for d (or until the work is done
// when d is 0), with a progress line on stderr, and merges the tallies.
func (r *rushRun) runPhase(name string, d time.Duration, total int, work func(w int, rec rushRecorder, p *rushPhase)) rushPhaseResult {
	p := &rushPhase{name: name, start: time.Now(), total: total, r: r}
	if d > 0 {
		p.until = p.start.Add(d)
	}
	ops0, errs0 := r.live.ops.Load(), r.live.errors.Load()
	stop := r.progress(p, ops0, errs0)
	recs := make([]rushRecorder, r.opt.concurrency)
	var wg sync.WaitGroup
	for w := range recs {
		recs[w] = rushRecorder{}
		wg.Go(func() { work(w, recs[w], p) })
	}
	wg.Wait()
	res := rushPhaseResult{name: name, elapsed: time.Since(p.start), tallies: map[rushOp]*rushTally{}}
	stop()
	for _, rec := range recs {
		for op, t := range rec {
			if res.tallies[op] == nil {
				res.tallies[op] = &rushTally{}
			}
			res.tallies[op].merge(t)
		}
	}
	return res
}

// progress draws the phase's progress on stderr: on a terminal a bar
// redrawn every 200 ms, otherwise a line every 5 s. The returned function
// stops it.
func (r *rushRun) progress(p *rushPhase, ops0, errs0 uint64) func() {
	every := 5 * time.Second
	if r.tty {
		every = 200 * time.Millisecond
	}
	done, finished := make(chan struct{}), make(chan struct{})
	line := func() string {
		elapsed := time.Since(p.start)
		ops, errs := r.live.ops.Load()-ops0, r.live.errors.Load()-errs0
		var frac float64
		var where string
		if !p.until.IsZero() {
			total := p.until.Sub(p.start)
			frac = min(elapsed.Seconds()/total.Seconds(), 1)
			where = fmt.Sprintf("%5.1fs/%s", elapsed.Seconds(), total)
		} else {
			n := p.done.Load()
			frac = float64(n) / float64(max(p.total, 1))
			where = fmt.Sprintf("%d/%d in %.1fs", n, p.total, elapsed.Seconds())
		}
		rate := float64(ops) / max(elapsed.Seconds(), 1e-3)
		if r.tty {
			const width = 30
			fill := int(frac * width)
			bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
			return fmt.Sprintf("\r%-14s [%s] %s  %7.0f ops/s  %d errors\x1b[K", p.name, bar, where, rate, errs)
		}
		return fmt.Sprintf("rush: %s %s, %.0f ops/s, %d errors\n", p.name, where, rate, errs)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(r.stderr, line())
				if r.tty {
					fmt.Fprintln(r.stderr)
				}
				return
			case <-t.C:
				fmt.Fprint(r.stderr, line())
			}
		}
	}()
	return func() { close(done); <-finished }
}

// addPhase keeps a finished phase for the report, once the outbox has
// sent what the phase wrote (see drainOutbox).
func (r *rushRun) addPhase(res rushPhaseResult) error {
	if r.ctx.Err() == nil {
		ob, err := r.drainOutbox(res.name, res.elapsed)
		if err != nil && err != errRushInterrupted {
			return fmt.Errorf("the outbox after %s: %w", res.name, err)
		}
		res.outbox = ob
	}
	r.report.phases = append(r.report.phases, res)
	return nil
}

// rushProductOps are the operations the report lists as the product's.
var rushProductOps = []rushOp{opLogin, opCreate, opUpload, opSave, opSubmit, opStatus, opRetract, opStormSubmit, opStormRetract, opList}

// rushBaselineOps are the baselines' operations.
var rushBaselineOps = []rushOp{opBaselineWrite, opHello, opStatusOne}

// rushAllOps are the product's operations, then the baselines'.
func rushAllOps() []rushOp { return slices.Concat(rushProductOps, rushBaselineOps) }

// finishReport turns the phases' tallies into figures and ratios.
func (r *rushRun) finishReport() {
	rep := &r.report
	rep.Ops, rep.Baselines = map[rushOp]rushFigures{}, map[rushOp]rushFigures{}
	for _, ph := range rep.phases {
		rep.Phases = append(rep.Phases, rushPhaseLength{Name: ph.name, Seconds: roundSeconds(ph.elapsed), Outbox: ph.outbox})
		for op, t := range ph.tallies {
			f := t.figures(ph.name, ph.elapsed)
			switch {
			case slices.Contains(rushProductOps, op):
				rep.Ops[op] = f
			case slices.Contains(rushBaselineOps, op):
				rep.Baselines[op] = f
			}
		}
	}
	if len(rep.Baselines) == 0 {
		rep.Baselines = nil
	}
	ratio := func(name string, a, b float64) {
		if a > 0 && b > 0 {
			if rep.Ratios == nil {
				rep.Ratios = map[string]float64{}
			}
			rep.Ratios[name] = math.Round(a/b*1000) / 1000
		}
	}
	base, hello := rep.Baselines[opBaselineWrite], rep.Baselines[opHello]
	writes := rep.Ops[opSave].PerS + rep.Ops[opSubmit].PerS + rep.Ops[opRetract].PerS
	ratio("submit_per_baseline_write", rep.Ops[opSubmit].PerS, base.PerS)
	ratio("writes_per_baseline_write", writes, base.PerS)
	ratio("submit_p99_over_baseline_write_p99", rep.Ops[opSubmit].P99, base.P99)
	storm := rep.Ops[opStormSubmit].PerS + rep.Ops[opStormRetract].PerS
	ratio("storm_submit_per_baseline_write", rep.Ops[opStormSubmit].PerS, base.PerS)
	ratio("storm_writes_per_baseline_write", storm, base.PerS)
	ratio("storm_submit_p99_over_baseline_write_p99", rep.Ops[opStormSubmit].P99, base.P99)
	ratio("status_per_hello", rep.Ops[opStatus].PerS, hello.PerS)
	ratio("status_one_per_hello", rep.Baselines[opStatusOne].PerS, hello.PerS)
	r.samplesMu.Lock()
	rep.FirstErrors = r.samples
	r.samplesMu.Unlock()
}

// rushRatioNames explain the ratios in the table.
var rushRatioNames = []struct{ key, text string }{
	{"submit_per_baseline_write", "submit/s in the mix ÷ baseline_write/s"},
	{"writes_per_baseline_write", "writes/s in the mix (save+submit+retract) ÷ baseline_write/s"},
	{"submit_p99_over_baseline_write_p99", "submit p99 ÷ baseline_write p99"},
	{"storm_submit_per_baseline_write", "storm_submit/s ÷ baseline_write/s"},
	{"storm_writes_per_baseline_write", "writes/s in the storm (submit+retract) ÷ baseline_write/s"},
	{"storm_submit_p99_over_baseline_write_p99", "storm_submit p99 ÷ baseline_write p99"},
	{"status_per_hello", "status/s in the mix ÷ hello/s"},
	{"status_one_per_hello", "status_one/s (one dossier, C clients) ÷ hello/s"},
}

// writeTable prints the report for people.
func (rep *rushReport) writeTable(w io.Writer) {
	p := rep.Params
	fmt.Fprintf(w, "designate rush against %s: call %s, %d cities (%s), %d clients, %s per timed phase\n",
		p.Addr, p.Call, p.Cities, p.Prefix, p.Concurrency, p.Duration)
	fmt.Fprintf(w, "mix, per city, repeated: %s\n", strings.Join(rushOpNames(p.Mix), " "))
	fmt.Fprintf(w, "setup: %d accounts made in %.1fs (not an operation)\n", rep.Setup.Accounts, rep.Setup.Seconds)
	if p.WriteBytes > 0 {
		fmt.Fprintf(w, "baseline_write posts %d bytes: a submitted dossier's record\n", p.WriteBytes)
	}
	if rep.Interrupted {
		fmt.Fprintln(w, "interrupted: the figures are those of the phases run so far")
	}
	fmt.Fprintln(w)
	type row struct {
		label string
		op    rushOp
		f     rushFigures
	}
	var rows []row
	labelWidth := len("PHASE")
	for _, ph := range rep.Phases {
		label := fmt.Sprintf("%s %.1fs", ph.Name, ph.Seconds)
		for _, op := range rushAllOps() {
			f, ok := rep.Ops[op]
			if !ok || f.Phase != ph.Name {
				f, ok = rep.Baselines[op]
			}
			if ok && f.Phase == ph.Name {
				rows = append(rows, row{label, op, f})
				labelWidth = max(labelWidth, len(label))
				label = ""
			}
		}
	}
	fmt.Fprintf(w, "%-*s  %-14s %8s %7s %9s %9s %9s %9s %9s %9s\n", labelWidth, "PHASE", "OP", "COUNT", "ERRORS", "OK/S", "MEAN ms", "P50 ms", "P95 ms", "P99 ms", "MAX ms")
	for _, x := range rows {
		f := x.f
		fmt.Fprintf(w, "%-*s  %-14s %8d %7d %9.1f %9.2f %9.2f %9.2f %9.2f %9.2f\n", labelWidth, x.label, x.op, f.Count, f.Errors, f.PerS, f.Mean, f.P50, f.P95, f.P99, f.Max)
	}
	rep.writeOutbox(w)
	if len(rep.Ratios) > 0 {
		fmt.Fprintln(w, "\nratios (same run, same router)")
		for _, n := range rushRatioNames {
			if v, ok := rep.Ratios[n.key]; ok {
				fmt.Fprintf(w, "  %-66s %7.3f\n", n.text, v)
			}
		}
	}
	var byStatus []string
	for _, op := range rushAllOps() {
		f, ok := rep.Ops[op]
		if !ok {
			f = rep.Baselines[op]
		}
		for _, k := range sortedKeys(f.ByStatus) {
			byStatus = append(byStatus, fmt.Sprintf("%s %s×%d", op, k, f.ByStatus[k]))
		}
	}
	if len(byStatus) == 0 {
		fmt.Fprintln(w, "\nerrors: none")
		return
	}
	fmt.Fprintf(w, "\nerrors by status: %s\nfirst errors:\n", strings.Join(byStatus, ", "))
	for _, e := range rep.FirstErrors {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

func rushOpNames(ops []rushOp) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = string(op)
	}
	return out
}

func roundSeconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

// writeOutbox prints, per phase, the e-mails it wrote, the backlog it left
// and whether the outbox kept up.
func (rep *rushReport) writeOutbox(w io.Writer) {
	width := 0
	for _, ph := range rep.Phases {
		if ph.Outbox != nil {
			width = max(width, len(fmt.Sprintf("%s %.1fs", ph.Name, ph.Seconds)))
		}
	}
	if width == 0 && rep.SMTPSink == nil {
		return
	}
	if width > 0 {
		fmt.Fprintln(w, "\noutbox after each phase (sustained: its e-mails sent within the phase's own length)")
	}
	for _, ph := range rep.Phases {
		ob := ph.Outbox
		if ob == nil {
			continue
		}
		drain := fmt.Sprintf("drained in %.1fs", ob.DrainS)
		if !ob.Drained {
			drain = fmt.Sprintf("not drained: %d left after %.1fs", ob.Left, ob.DrainS)
		}
		sustained := "no"
		if ob.Sustained {
			sustained = "yes"
		}
		retrying := ""
		if ob.Retrying > 0 {
			retrying = fmt.Sprintf(", %d waiting for a retry", ob.Retrying)
		}
		fmt.Fprintf(w, "  %-*s  written %6d  pending at end %6d  %-32s sustained: %s (%.1fs against %.1fs)%s\n",
			width, fmt.Sprintf("%s %.1fs", ph.Name, ph.Seconds), ob.Written, ob.PendingAtEnd, drain, sustained, ob.DrainS, ph.Seconds, retrying)
	}
	if s := rep.SMTPSink; s != nil {
		fmt.Fprintf(w, "smtp sink %s received %d e-mails (%d recipients)\n", s.Addr, s.Mails, s.Recipients)
	}
}
