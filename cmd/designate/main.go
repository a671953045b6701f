// Command designate runs the designation-call engine: the server, and the
// sub-commands that manage its data.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	// The server must know every time zone a call may use, even on a
	// machine without a zoneinfo database.
	_ "time/tzdata"
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		// 1, not 2, for a failure: a supervisor (or a script) tells it from
		// a command line that could never work.
		fmt.Fprintln(os.Stderr, "designate:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// gcPercent is the server's GOGC unless the environment sets one. The live
// heap is small (the records live in bbolt's memory map), so the default
// 100 collects very often while photos are decoded, and every collection
// takes CPU from the submissions running beside them: measured with
// BenchmarkSubmitWhileUploading, 400 halves that slow-down.
const gcPercent = 400

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

const usage = `designate runs designation calls: applications, endorsements, evaluation, results.

Usage:
  designate [serve] [--config config.yaml] [--data DIR] [--addr HOST:PORT]
  designate user add --data DIR --email E --password P --role R [--country CC] [--city NAME] [--field F] [--language en|fr]
  designate user list|disable|enable --data DIR [--email E]
  designate user role --data DIR --email E --role R [--country CC] [--city NAME] [--field F]
  designate backup --data DIR --out FILE [--addr URL|--config FILE] [--email ADMIN [--password-file F]]
                          the database and its files, as one archive; while the server runs,
                          fetched from it as the admin (password in $DESIGNATE_PASSWORD or F)
  designate restore --data DIR --from FILE  unpack a backup into an empty data directory, then check it
  designate check --data DIR [--sweep]      verify every invariant of the data and every file; --sweep removes orphans
  designate seed --data DIR [--dossiers N] [--drafts F] [--close-in D] [--call ID]
                          a stopped server's database gets a call of N synthetic dossiers (load tests)
  designate diagram       print the lifecycle diagram (Mermaid) drawn from the engine's table
  designate rush --addr URL [--cities N] [--concurrency C] [--duration D] [--baseline] [--json] [--ack-log FILE]
                          play N cities' deadline rush against a running server; latency per operation
`

// run dispatches the sub-command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stdout, stderr)
	case "user":
		return runUser(ctx, args, stdout, stderr)
	case "backup":
		return runBackup(args, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, stdout, stderr)
	case "check":
		return runCheck(ctx, args, stdout, stderr)
	case "seed":
		return runSeed(ctx, args, stdout, stderr)
	case "rush":
		return runRush(ctx, args, stdout, stderr)
	case "diagram":
		fmt.Fprint(stdout, lifecycleDiagram())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "designate: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}
