package store

// Written is what bbolt's transactions have written since the database was
// opened: the bytes of the pages they allocated (each dirty page is written
// whole at commit) and the number of writes to the file. The difference
// across one operation, run alone, is that operation's cost in the file.
type Written struct {
	PageBytes int64
	Writes    int64
}

// Written returns the database's write totals (bbolt's TxStats).
func (db *DB) Written() Written {
	s := db.bolt.Stats().TxStats
	return Written{PageBytes: s.GetPageAlloc(), Writes: s.GetWrite()}
}
