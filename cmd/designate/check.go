package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"designate/engine"
)

// runCheck is `designate check`: verify a stopped server's data and list
// what is wrong; it fails when anything is.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "data", "data directory")
	sweep := fs.Bool("sweep", false, "remove the files no dossier names (what an interrupted upload leaves)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	db, files, err := openOffline(*data, !*sweep)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer db.Close()
	defer files.Close()
	svc := engine.NewService(db, engine.SystemClock{})
	svc.Files = files
	if *sweep {
		swept, err := svc.SweepFiles(ctx)
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		fmt.Fprintf(stdout, "removed %d file(s) no dossier names\n", len(swept))
	}
	problems, err := svc.CheckFiles(ctx)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	for _, p := range problems {
		if p.Application != "" {
			fmt.Fprintf(stdout, "file %s of dossier %s: %s\n", p.Digest, p.Application, p.Problem)
		} else {
			fmt.Fprintf(stdout, "file %s: %s\n", p.Digest, p.Problem)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("check: %d problem(s) in %s", len(problems), *data)
	}
	fmt.Fprintf(stdout, "check: %s is sound (every file a dossier names is there, whole)\n", *data)
	return nil
}
