package engine

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is Crockford's base32: no I, L, O or U, so ids read aloud well.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of every id the engine makes.
const IDLen = 16

// newID returns a 16-character id: 48 bits of milliseconds then 32 random
// bits. Ids sort by creation time, so an index walk in key order is a walk
// in creation order, and pagination by id is stable.
func newID(now time.Time) string {
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
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
