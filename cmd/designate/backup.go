package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"designate/store"
)

// runBackup is `designate backup`: a consistent copy of the database and
// every file its dossiers name, as one tar archive. With the server stopped
// it reads the data directory itself; while the server runs (it holds the
// database) it fetches the same archive from the server, as the admin.
func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "data", "data directory")
	out := fs.String("out", "", "file to write the backup to (a tar archive)")
	var hot hotBackup
	fs.StringVar(&hot.addr, "addr", "", "the running server's URL or HOST:PORT (default: addr of --config, else "+DefaultConfig().Addr+")")
	fs.StringVar(&hot.config, "config", "", "the running server's configuration file, for its addr")
	fs.StringVar(&hot.email, "email", "", "an admin account, to back up through the running server")
	// The password never comes as a flag's value: a process's command line
	// is readable by every user of the machine (ps, /proc/PID/cmdline) and
	// stays in the shell's history.
	fs.StringVar(&hot.passwordFile, "password-file", "", "file holding the admin's password (default: the environment's "+passwordEnv+")")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *out == "" {
		return errors.New("backup: --out FILE is required")
	}
	db, files, err := openOffline(*data, store.Options{ReadOnly: true, OlderSchema: true})
	if errors.Is(err, store.ErrLocked) {
		// The run's own context: the dispatch passes none to this command,
		// and a long download must stop (and clean up) on Ctrl-C.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return hot.run(ctx, *out, stdout)
	} else if err != nil {
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
func openOffline(data string, opts store.Options) (*store.DB, *store.Files, error) {
	if _, err := os.Stat(dbFile(data)); err != nil {
		return nil, nil, fmt.Errorf("no database at %s", dbFile(data))
	}
	db, err := store.Open(dbFile(data), opts)
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, fmt.Errorf("%w; stop the server first", err)
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
