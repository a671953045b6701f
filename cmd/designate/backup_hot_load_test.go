package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The load the hot backup is taken under: cities working through the API.

// hbAck is a write the server acknowledged: the dossier at that version.
type hbAck struct {
	ID      string
	State   string
	Version int
	At      time.Time
}

// hbCall is one request of the load, when it was sent and answered.
type hbCall struct {
	Start, End time.Time
	Write      bool
}

// hbLoad is cities starting, saving, submitting and withdrawing dossiers
// through the API for as long as it runs, recording every acknowledged
// write and every request's time.
type hbLoad struct {
	tm     *TestMain
	call   string
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	acked  atomic.Int64
	mu     sync.Mutex
	acks   []hbAck
	calls  []hbCall
	errs   []string
	status map[int]int
}

func hbStartLoad(tm *TestMain, callID string, workers int) *hbLoad {
	tm.tb.Helper()
	l := &hbLoad{tm: tm, call: callID, stop: make(chan struct{}), status: map[int]int{}}
	for w := range workers {
		// Two cities per worker: a city's earlier dossiers are looked
		// through when it starts one, so no city runs more than 40 cycles.
		cities := []*city{
			tm.newCity(fmt.Sprintf("Hb City %d a", w), "FR", "Film"),
			tm.newCity(fmt.Sprintf("Hb City %d b", w), "PT", "Music"),
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for cycle := 0; cycle < 80; cycle++ {
				select {
				case <-l.stop:
					return
				default:
				}
				if !l.cycle(cities[cycle%2]) {
					return
				}
			}
		}()
	}
	return l
}

// send makes one request and records it; ok is false on a refusal or a
// transport error (recorded as an error).
func (l *hbLoad) send(method, path, token string, body any, want int, out *Dossier) bool {
	start := time.Now()
	r, err := l.tm.Send(method, path, token, body)
	end := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.errs = append(l.errs, fmt.Sprintf("%s %s: %v", method, path, err))
		return false
	}
	l.status[r.Status]++
	l.calls = append(l.calls, hbCall{Start: start, End: end, Write: method != "GET"})
	if r.Status != want {
		l.errs = append(l.errs, fmt.Sprintf("%s %s: status %d, want %d: %.200s", method, path, r.Status, want, r.Body))
		return false
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			l.errs = append(l.errs, fmt.Sprintf("%s %s: %v", method, path, err))
			return false
		}
		l.acks = append(l.acks, hbAck{ID: out.ID, State: out.State, Version: out.Version, At: end})
		l.acked.Add(1)
	}
	return true
}

// cycle starts a dossier, completes it, submits it, reads it and withdraws
// it (which lets the city start the next one).
func (l *hbLoad) cycle(c *city) bool {
	var d Dossier
	body := map[string]string{"city": c.Name, "country": c.Country, "field": c.Field, "language": "en"}
	if !l.send("POST", "/api/v1/calls/"+l.call+"/applications", c.Token, body, 201, &d) {
		return false
	}
	app := "/api/v1/applications/" + d.ID
	return l.send("PUT", app, c.Token, completeDraft(d.Version, c.Name), 200, &d) &&
		l.send("POST", app+"/transitions", c.Token, map[string]any{"event": "submit", "version": d.Version}, 200, &d) &&
		l.send("GET", app, c.Token, nil, 200, nil) &&
		l.send("POST", app+"/transitions", c.Token, map[string]any{"event": "withdraw", "version": d.Version}, 200, &d)
}

// waitAcks waits until the load has n acknowledged writes, or has stopped
// with errors.
func (l *hbLoad) waitAcks(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.acked.Load() < n {
		l.mu.Lock()
		failed := len(l.errs) > 0
		l.mu.Unlock()
		if failed || time.Now().After(deadline) {
			t.Fatalf("the load made %d acknowledged writes, want %d: %v", l.acked.Load(), n, l.errs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// finish stops the load and waits for its requests in flight.
func (l *hbLoad) finish() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// around counts the requests answered between from and to, and
// splits the writes' latencies into those that overlap that window and
// those that do not.
func (l *hbLoad) around(from, to time.Time) (answered int, writesDuring, writesOutside []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.calls {
		if !c.End.Before(from) && !c.End.After(to) {
			answered++
		}
		if !c.Write {
			continue
		}
		if c.Start.Before(to) && c.End.After(from) {
			writesDuring = append(writesDuring, c.End.Sub(c.Start))
		} else {
			writesOutside = append(writesOutside, c.End.Sub(c.Start))
		}
	}
	return answered, writesDuring, writesOutside
}

// hbP99 is the 99th percentile of ds.
func hbP99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[(len(ds)*99+99)/100-1]
}
