package engine

import (
	"sync"
	"time"
)

// throttle slows down guessing passwords: after a few failed sign-ins for
// one e-mail (known or not, so it tells nothing about which exist) or from
// one address, each further attempt must wait twice as long as the last,
// up to a lock of maxLock; attempts during the wait are refused with
// ETHROTTLED and when to try again. A success for an e-mail clears it.
type throttle struct {
	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures int
	last     time.Time
	until    time.Time
}

const (
	// freeFailures are allowed before any wait: people mistype.
	freeFailures = 3
	// maxLock is the longest wait, reached after about a dozen failures.
	maxLock = 15 * time.Minute
	// forgetAfter clears an entry with no failure for this long.
	forgetAfter = time.Hour
	// maxEntries bounds the memory an attacker can make us use; past it,
	// forgotten entries are swept.
	maxEntries = 100_000
)

// wait returns how long key must still wait, or 0.
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil || !now.Before(e.until) {
		return 0
	}
	return e.until.Sub(now)
}

// fail counts a failure for key.
func (t *throttle) fail(key string, now time.Time, free int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil {
		t.entries = map[string]*throttleEntry{}
	}
	e := t.entries[key]
	if e == nil || now.Sub(e.last) > forgetAfter {
		if len(t.entries) >= maxEntries {
			t.sweep(now)
		}
		e = &throttleEntry{}
		t.entries[key] = e
	}
	e.failures++
	e.last = now
	if over := e.failures - free; over > 0 {
		lock := time.Second << min(over-1, 20)
		e.until = now.Add(min(lock, maxLock))
	}
}

// succeed clears key.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

func (t *throttle) sweep(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.last) > forgetAfter {
			delete(t.entries, k)
		}
	}
	if len(t.entries) >= maxEntries {
		t.entries = map[string]*throttleEntry{}
	}
}
