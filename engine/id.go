package engine

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// crockford is Crockford's base32: no I, L, O or U, so ids read aloud well.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of every id the engine makes.
const IDLen = 16

// ids makes ids that increase within this process even when many are made
// in one millisecond (an audit log under a flood of refusals) or the clock
// steps back: an id is then the previous one plus one.
var ids struct {
	sync.Mutex
	ms  uint64
	rnd uint32
}

// newID returns a 16-character id: 48 bits of milliseconds then 32 bits,
// random for the first id of a millisecond. Ids sort by creation time, so an
// index walk in key order is a walk in creation order, and pagination by id
// is stable.
func newID(now time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	ms, rnd := uint64(now.UnixMilli())&(1<<48-1), binary.BigEndian.Uint32(r[:])
	ids.Lock()
	if ms <= ids.ms {
		ms, rnd = ids.ms, ids.rnd+1
		if rnd == 0 {
			ms++
		}
	}
	ids.ms, ids.rnd = ms, rnd
	ids.Unlock()
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	binary.BigEndian.PutUint32(b[6:], rnd)
	// 80 bits, read 5 at a time from the most significant end.
	var out [IDLen]byte
	for i := range out {
		bit := i * 5
		v := uint(b[bit/8])<<8 | uint(at(b[:], bit/8+1))
		out[i] = crockford[(v>>(11-bit%8))&31]
	}
	return string(out[:])
}

// ValidID reports whether s has the form of an id the engine makes, so that
// nothing else (paths, dots, NUL) reaches a storage key.
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}

func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// NewID returns a new id, as the engine makes them, for records made outside
// its services (`designate seed`, which writes synthetic dossiers in bulk).
func NewID(now time.Time) string { return newID(now) }
