package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"designate/store"
)

// runBackup is `designate backup`: a consistent copy of the database and
// every file its dossiers name, as one tar archive.
func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "data", "data directory")
	out := fs.String("out", "", "file to write the backup to (a tar archive)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *out == "" {
		return errors.New("backup: --out FILE is required")
	}
	db, files, err := openOffline(*data, true)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	defer files.Close()
	n, err := store.BackupTo(*out, db, files)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes)\n", *data, *out, n)
	return nil
}

// openOffline opens the data directory of a stopped server.
func openOffline(data string, readOnly bool) (*store.DB, *store.Files, error) {
	if _, err := os.Stat(dbFile(data)); err != nil {
		return nil, nil, fmt.Errorf("no database at %s", dbFile(data))
	}
	db, err := store.Open(dbFile(data), store.Options{ReadOnly: readOnly})
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, fmt.Errorf("%w; stop the server first (a hot backup through the running server is planned)", err)
	} else if err != nil {
		return nil, nil, err
	}
	files, err := store.OpenFiles(filesDir(data))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, files, nil
}
