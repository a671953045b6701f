package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"designate/engine"
	"designate/store"
)

// runCheck is `designate check`: verify every invariant of a stopped
// server's data (engine.Service.CheckData: the store's indexes, tally,
// queues and references, each dossier against its history and its call, the
// country quotas, and every file) and list what is wrong, a line each; it
// fails when anything is.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "data", "data directory")
	sweep := fs.Bool("sweep", false, "remove the files no dossier names (what an interrupted upload leaves)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	db, files, err := openOffline(*data, store.Options{ReadOnly: !*sweep})
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
	report, err := svc.CheckData(ctx)
	if err != nil {
		return err
	}
	for _, p := range report.Problems {
		fmt.Fprintln(stdout, p)
	}
	if more := report.Total - len(report.Problems); more > 0 {
		fmt.Fprintf(stdout, "and %d more problem(s) not listed\n", more)
	}
	if report.Total > 0 {
		return fmt.Errorf("check: %d problem(s) in %s", report.Total, *data)
	}
	checked := make([]string, len(report.Checked))
	for i, c := range report.Checked {
		checked[i] = fmt.Sprintf("%d %s", c.N, c.What)
	}
	fmt.Fprintf(stdout, "check: data is sound in %s: %s\n", *data, strings.Join(checked, ", "))
	return nil
}
