package engine_test

import (
	"errors"
	"fmt"
	"testing"

	"designate/engine"
)

// A busy or unavailable server is a failure, not a decision of the engine:
// a store must not answer it as a refusal that leaves its batch to commit.
func TestIsRefusal_BusyAndUnavailable_AreFailures(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{engine.Errorf(engine.ECONFLICT, "No."), true},
		{fmt.Errorf("save: %w", engine.Errorf(engine.EDEADLINEPASSED, "Late.")), true},
		{engine.Errorf(engine.EBUSY, "Busy."), false},
		{fmt.Errorf("save: %w", engine.Errorf(engine.EUNAVAILABLE, "Unknown.")), false},
		{engine.Errorf(engine.EINTERNAL, "Broken."), false},
		{errors.New("disk"), false},
		{nil, false},
	} {
		if got := engine.IsRefusal(c.err); got != c.want {
			t.Errorf("IsRefusal(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
