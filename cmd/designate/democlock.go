package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"designate/engine"
)

// demoClockFile keeps how far the demo clock has jumped, so that a restart
// never turns time back past a deadline that has already acted.
const demoClockFile = "demo-clock.txt"

// openDemoClock is base shifted by the offset saved in dir, saving each
// jump before it takes effect.
func openDemoClock(dir string, base engine.Clock) (*engine.DemoClock, error) {
	path := filepath.Join(dir, demoClockFile)
	var offset time.Duration
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if offset, err = time.ParseDuration(strings.TrimSpace(string(raw))); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if offset < 0 {
			return nil, fmt.Errorf("%s: the demo clock is never behind the real one (%s)", path, offset)
		}
	}
	c := engine.NewDemoClock(base, offset)
	c.Save = func(offset time.Duration) error { return writeFileSynced(path, []byte(offset.String()+"\n")) }
	return c, nil
}

// writeFileSynced replaces the file with data, durably: a temporary file,
// synced, renamed over it, and the directory synced.
func writeFileSynced(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
