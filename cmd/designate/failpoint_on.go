//go:build failpoints

package main

import (
	"io"
	"os"
	"syscall"

	"designate/engine"
)

// Failpoints, built only with -tags failpoints for the crash tests: with
// DESIGNATE_FAILPOINT=after-keep the process kills itself (SIGKILL, no
// clean-up) right after an upload's file is kept and before the
// transaction that records it commits.
func withFailpoints(f engine.Files) engine.Files {
	if os.Getenv("DESIGNATE_FAILPOINT") == "after-keep" {
		return crashAfterKeep{f}
	}
	return f
}

type crashAfterKeep struct{ engine.Files }

func (c crashAfterKeep) Stage(r io.Reader, limit int64) (engine.StagedFile, error) {
	s, err := c.Files.Stage(r, limit)
	if err != nil {
		return nil, err
	}
	return crashingStaged{s}, nil
}

type crashingStaged struct{ engine.StagedFile }

func (s crashingStaged) Keep() error {
	if err := s.StagedFile.Keep(); err != nil {
		return err
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal ends the process before anything else runs
}
