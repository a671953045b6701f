package store

import (
	"math"
	"os"
)

// bbolt maps the database file into memory and, when the file outgrows the
// map, maps it again; that needs every read transaction to end first, and
// while the writer waits, bbolt's lock (a sync.RWMutex) holds back every new
// read too. A backup is one read transaction for as long as the database
// takes to stream to its client, and the writes made meanwhile cannot reuse
// the pages it still reads, so the file grows: without headroom, one remap
// would stop every request of the server until the backup's client had
// read the whole database (boltdb/bolt#392, #498; bbolt's InitialMmapSize).
//
// So a writable database is mapped with room to grow: at least mmapHeadroom,
// and at least twice the file, so that a remap (and the stall) needs the
// database to double while the server runs. Only address space is reserved:
// the file grows as it did, and the map costs no memory until pages are read.
// 0 maps as bbolt does by itself (the test that measures the stall).
var mmapHeadroom = 1 << 30

// initialMmapSize is the map size to open path with; 0 leaves bbolt to map
// the file as it grows (read-only opens, which no writer remaps, and 32-bit
// machines, whose address space is too small to reserve).
func initialMmapSize(path string, readOnly bool) int {
	if readOnly || mmapHeadroom == 0 || math.MaxInt < 1<<40 {
		return 0
	}
	size := mmapHeadroom
	if info, err := os.Stat(path); err == nil && 2*info.Size() > int64(size) {
		size = int(2 * info.Size())
	}
	return size
}
