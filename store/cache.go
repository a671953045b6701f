package store

import (
	"bytes"
	"container/list"
	"sync"

	"designate/engine"
)

// decoded keeps records already decoded from JSON, so that reading a dossier
// again costs a comparison of its bytes instead of a decode. A 22 KB dossier
// takes a few hundred microseconds to decode, and every write decodes it
// inside bbolt's batch, where writes run one after the other: decoding is
// what bounded the writes a second (see BENCHMARKS.md).
//
// An entry is used only when the bytes stored now are exactly the bytes it
// was decoded from (or encoded to), so the cache cannot be stale: a write
// rolled back, a batch run twice, a restore or another process's write all
// leave bytes that no longer match, and the record is decoded afresh. Each
// entry is a private copy and every hit returns a copy of it, so no reader
// can change what another reads.
type decoded[T any] struct {
	clone func(*T) *T
	max   int // bytes of stored records kept at most

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     list.List // of *cached[T], most recently used first
	size    int
}

type cached[T any] struct {
	key string
	raw []byte
	val *T
}

func newDecoded[T any](maxBytes int, clone func(*T) *T) *decoded[T] {
	return &decoded[T]{clone: clone, max: maxBytes, entries: map[string]*list.Element{}}
}

// get returns a copy of the record decoded from raw, if it is kept.
func (c *decoded[T]) get(key string, raw []byte) (*T, bool) {
	if c == nil || c.max <= 0 {
		return nil, false
	}
	c.mu.Lock()
	el, ok := c.entries[key]
	var val *T
	if ok {
		e := el.Value.(*cached[T])
		if ok = bytes.Equal(e.raw, raw); ok {
			c.lru.MoveToFront(el)
			val = e.val
		}
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	// Entries are never changed once kept, so the copy needs no lock.
	return c.clone(val), true
}

// put keeps val as the decoding of raw. raw must not change afterwards:
// bytes read from bbolt are copied by the caller (they live only as long as
// their transaction), bytes just encoded are not.
func (c *decoded[T]) put(key string, raw []byte, val *T) {
	if c == nil || c.max <= 0 || len(raw) > c.max/8 {
		return
	}
	val = c.clone(val)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cached[T])
		c.size += len(raw) - len(e.raw)
		e.raw, e.val = raw, val
		c.lru.MoveToFront(el)
	} else {
		c.entries[key] = c.lru.PushFront(&cached[T]{key: key, raw: raw, val: val})
		c.size += len(raw)
	}
	for c.size > c.max {
		el := c.lru.Back()
		e := el.Value.(*cached[T])
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.size -= len(e.raw)
	}
}

// caches are the decoded records a database keeps.
type caches struct {
	bodies *decoded[body]
	files  *decoded[fileList]
	calls  *decoded[engine.Call]
}

func newCaches(maxBytes int) *caches {
	return &caches{
		bodies: newDecoded(maxBytes, cloneBody),
		// A list of ten files is 2 KB of JSON with ten times to parse:
		// a twentieth of a dossier's bytes, a large share of its decoding.
		files: newDecoded(maxBytes/8, cloneFiles),
		calls: newDecoded(maxBytes/16, (*engine.Call).Clone),
	}
}
