package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"designate/engine"
	"designate/store"
)

// runUser is `designate user add|list|disable|enable|role`: account
// management directly in the database, so the server must be stopped (the
// admin's /api/v1/users does the same while it runs).
func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "data", "data directory")
	var in engine.NewUser
	var role string
	fs.StringVar(&in.Email, "email", "", "e-mail (the login)")
	switch sub {
	case "add":
		fs.StringVar(&in.Password, "password", "", "password, at least 10 characters")
		fs.StringVar(&role, "role", "", "applicant, commission, evaluator, secretariat or admin")
		fs.StringVar(&in.Country, "country", "", "ISO 3166-1 alpha-2 code (applicant, commission, evaluator)")
		fs.StringVar(&in.City, "city", "", "city name (applicant; a member-city evaluator)")
		fs.StringVar(&in.Field, "field", "", "creative field a member-city evaluator is a member in")
		fs.StringVar(&in.Language, "language", "en", "en or fr")
	case "role":
		fs.StringVar(&role, "role", "", "the new role")
		fs.StringVar(&in.Country, "country", "", "the new country, if the role needs one")
		fs.StringVar(&in.City, "city", "", "the new city, if the role needs one")
		fs.StringVar(&in.Field, "field", "", "the new field of a member-city evaluator")
	case "list", "disable", "enable":
	default:
		fmt.Fprintf(stderr, "designate: unknown command \"user %s\"\n\n%s", sub, usage)
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if sub != "list" && in.Email == "" {
		return fmt.Errorf("user %s: --email is required", sub)
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	db, err := store.Open(dbFile(*data), store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("user %s: %w; stop the server first, or use the admin's /api/v1/users", sub, err)
	} else if err != nil {
		return err
	}
	defer db.Close()
	svc := engine.NewService(db, engine.SystemClock{})

	if sub == "add" {
		in.Role = engine.Role(role)
		u, err := svc.CreateUser(ctx, engine.System, in)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "created %s account %s (id %s)\n", u.Role, u.Email, u.ID)
		return nil
	}
	if sub == "list" {
		users, err := svc.Users(ctx, engine.System)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tE-MAIL\tCOUNTRY\tCITY\tFIELD\tDISABLED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%v\n", u.ID, u.Role, u.Email, u.Country, u.City, u.Field, u.Disabled)
		}
		return tw.Flush()
	}
	u, err := svc.UserByEmail(ctx, engine.System, in.Email)
	if err != nil {
		return fmt.Errorf("user %s: no account has the e-mail %s", sub, in.Email)
	}
	var ch engine.UserChange
	switch sub {
	case "disable", "enable":
		disabled := sub == "disable"
		ch.Disabled = &disabled
	case "role":
		r := engine.Role(role)
		ch.Role, ch.Country, ch.City, ch.Field = &r, &in.Country, &in.City, &in.Field
	}
	if u, err = svc.UpdateUser(ctx, engine.System, u.ID, ch); err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "%s: %s account, disabled %v; its sessions ended\n", u.Email, u.Role, u.Disabled)
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
