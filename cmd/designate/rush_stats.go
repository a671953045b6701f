package main

import (
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"
)

// rushHistogram counts latencies in log-linear buckets: exact below 32 µs,
// then 32 buckets per power of two, so a percentile read from it is within
// about 3% of the true value, whatever the run's length, in a fixed 8 KiB.
type rushHistogram struct {
	counts [rushBuckets]uint64
	n      uint64
	max    time.Duration
	sum    time.Duration
}

const (
	rushSubBits = 5
	rushSub     = 1 << rushSubBits
	// rushBuckets reach 2^37 µs (38 hours): more than any request.
	rushBuckets = rushSub + (37-rushSubBits)*rushSub
)

// rushBucket is the bucket of a latency in microseconds.
func rushBucket(us uint64) int {
	if us < rushSub {
		return int(us)
	}
	shift := bits.Len64(us) - rushSubBits - 1
	i := rushSub + shift*rushSub + int(us>>shift) - rushSub
	return min(i, rushBuckets-1)
}

// rushBucketTop is the largest latency, in microseconds, bucket i holds.
func rushBucketTop(i int) uint64 {
	if i < rushSub {
		return uint64(i)
	}
	shift := (i - rushSub) / rushSub
	return (uint64(rushSub+(i-rushSub)%rushSub+1) << shift) - 1
}

func (h *rushHistogram) add(d time.Duration) {
	h.counts[rushBucket(uint64(d.Microseconds()))]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

func (h *rushHistogram) merge(o *rushHistogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile is the latency q of the requests took at most (the top of its
// bucket, never above the largest seen).
func (h *rushHistogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(rushBucketTop(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}

// rushTally is what one operation did in one phase: its latencies (every
// answered or failed request) and its failures by status ("transport" for
// no answer, "mismatch" for a read that did not show the last
// acknowledged write).
type rushTally struct {
	hist     rushHistogram
	errors   uint64
	byStatus map[string]uint64
}

func (t *rushTally) merge(o *rushTally) {
	t.hist.merge(&o.hist)
	t.errors += o.errors
	for k, v := range o.byStatus {
		if t.byStatus == nil {
			t.byStatus = map[string]uint64{}
		}
		t.byStatus[k] += v
	}
}

// rushRecorder is one worker's tallies in one phase: no lock, merged when
// the phase ends.
type rushRecorder map[rushOp]*rushTally

func (r rushRecorder) tally(op rushOp) *rushTally {
	t := r[op]
	if t == nil {
		t = &rushTally{}
		r[op] = t
	}
	return t
}

// rushFigures are an operation's results as reported, latencies in ms.
type rushFigures struct {
	Phase    string            `json:"phase"`
	Count    uint64            `json:"count"`
	Errors   uint64            `json:"errors"`
	PerS     float64           `json:"per_s"`
	P50      float64           `json:"p50_ms"`
	P95      float64           `json:"p95_ms"`
	P99      float64           `json:"p99_ms"`
	Max      float64           `json:"max_ms"`
	Mean     float64           `json:"mean_ms"`
	ByStatus map[string]uint64 `json:"errors_by_status,omitempty"`
}

// figures are the tally's results over a phase of the given length;
// throughput counts the requests that succeeded.
func (t *rushTally) figures(phase string, elapsed time.Duration) rushFigures {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	f := rushFigures{Phase: phase, Count: t.hist.n, Errors: t.errors,
		P50: ms(t.hist.quantile(0.50)), P95: ms(t.hist.quantile(0.95)), P99: ms(t.hist.quantile(0.99)), Max: ms(t.hist.max),
		ByStatus: t.byStatus}
	if t.hist.n > 0 {
		f.Mean = ms(t.hist.sum / time.Duration(t.hist.n))
	}
	if elapsed > 0 {
		f.PerS = math.Round(float64(t.hist.n-t.errors)/elapsed.Seconds()*10) / 10
	}
	return f
}

// statusKey names a failure: its HTTP status, or what happened instead
// (0: no answer; -1: an answer that did not show the last acknowledged
// write).
func statusKey(status int) string {
	switch status {
	case 0:
		return "transport"
	case -1:
		return "mismatch"
	}
	return strconv.Itoa(status)
}

// sortedKeys are a map's keys in order, for a stable report.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
