package store

import (
	"context"
	"testing"

	"designate/engine"
)

// A refusal under the lock that wrote nothing is answered while its batch
// commits; one marked as having written fails its function, which rolls the
// batch back and runs again alone. So a store method that refuses, or finds
// nothing to do, must not mark a write: here each function scans (so it
// runs under the lock), meets a method that writes nothing, and refuses; it
// must run exactly once.
func TestUpdate_RefusalAfterNoWrite_RunsOnceUnderTheLock(t *testing.T) {
	for _, c := range []struct {
		name  string
		write func(engine.Tx) error
	}{
		{"PutUserRefused", func(tx engine.Tx) error {
			return tx.PutUser(&engine.User{ID: "u2", Email: "taken@example.org", Role: engine.RoleApplicant})
		}},
		{"DeleteSessionAbsent", func(tx engine.Tx) error { return tx.DeleteSession("no-such-token") }},
		{"DeleteSessionsOfNone", func(tx engine.Tx) error { return tx.DeleteSessionsOf("nobody") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := openTemp(t)
			ctx := context.Background()
			if err := db.Update(ctx, func(tx engine.Tx) error {
				return tx.PutUser(&engine.User{ID: "u1", Email: "taken@example.org", Role: engine.RoleApplicant})
			}); err != nil {
				t.Fatal(err)
			}
			locked := db.Writes().Locked.Load()
			err := db.Update(ctx, func(tx engine.Tx) error {
				if _, err := tx.Calls(); err != nil { // a scan: under the lock
					return err
				}
				if err := c.write(tx); err != nil {
					return err
				}
				return engine.Errorf(engine.ECONFLICT, "Refused after writing nothing.")
			})
			if engine.ErrorCode(err) != engine.ECONFLICT {
				t.Fatalf("err = %v, want the refusal", err)
			}
			if runs := db.Writes().Locked.Load() - locked; runs != 1 {
				t.Errorf("the function ran %d times under the lock, want 1 (a refusal that wrote nothing was taken for one after writes)", runs)
			}
		})
	}
}
