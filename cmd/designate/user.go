package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"designate/engine"
	"designate/store"
)

// runUserAdd is `designate user add`: it makes an account directly in the
// database, so the server must be stopped.
func runUserAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "data", "data directory")
	var in engine.NewUser
	fs.StringVar(&in.Email, "email", "", "e-mail (the login)")
	fs.StringVar(&in.Password, "password", "", "password, at least 10 characters")
	role := fs.String("role", "", "applicant, commission, secretariat or admin")
	fs.StringVar(&in.Country, "country", "", "ISO 3166-1 alpha-2 code (applicant, commission)")
	fs.StringVar(&in.City, "city", "", "city name (applicant)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	in.Role = engine.Role(*role)
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	db, err := store.Open(dbFile(*data), store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("user add: %w; stop the server first", err)
	} else if err != nil {
		return err
	}
	defer db.Close()
	u, err := engine.NewService(db, engine.SystemClock{}).CreateUser(ctx, engine.System, in)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "created %s account %s (id %s)\n", u.Role, u.Email, u.ID)
	return nil
}

// explain turns an engine refusal into a message for the terminal.
func explain(err error) error {
	if !engine.IsRefusal(err) {
		return err
	}
	msg := engine.ErrorMessage(err)
	for field, m := range engine.ErrorFields(err) {
		msg += fmt.Sprintf("\n  --%s %s", field, m)
	}
	return errors.New(msg)
}
