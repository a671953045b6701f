package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"designate/store"
)

// runBackup is `designate backup`: a consistent copy of the database file.
func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "data", "data directory")
	out := fs.String("out", "", "file to write the copy to")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *out == "" {
		return errors.New("backup: --out FILE is required")
	}
	if _, err := os.Stat(dbFile(*data)); err != nil {
		return fmt.Errorf("backup: no database at %s", dbFile(*data))
	}
	db, err := store.Open(dbFile(*data), store.Options{ReadOnly: true})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("backup: %w; stop the server first (a hot backup through the running server is planned)", err)
	} else if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Backup(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes)\n", dbFile(*data), *out, n)
	return nil
}
