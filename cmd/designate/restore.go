package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"designate/store"
)

// runRestore is `designate restore`: unpack a backup into an empty data
// directory, then run the integrity check on it.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "data", "data directory to restore into (must hold no database)")
	from := fs.String("from", "", "backup file written by designate backup")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *from == "" {
		return errors.New("restore: --from FILE is required")
	}
	f, err := os.Open(*from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	if err := store.Restore(f, *data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", *from, *data)
	// A backup taken before an upgrade holds an older layout: migrate it
	// now, as the server's next start would, so that the check reads it.
	db, err := store.Open(dbFile(*data), store.Options{Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return runCheck(ctx, []string{"--data", *data}, stdout, stderr)
}
