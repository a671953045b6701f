package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// backupStall is how long a backup's client may take no bytes before the
// server gives up on it. The server's WriteTimeout (a whole answer within
// a minute) would cut any backup longer than that; this limit instead
// cuts only a client that stopped reading, which would otherwise hold the
// connection and the backup's temporary copy of the database for ever (the
// store ends the read transaction before the first byte is sent).
const backupStall = time.Minute

// adminBackup streams a consistent backup of the whole data (admin): the
// archive `designate backup` writes with the server stopped, so `designate
// restore` takes either. The server goes on serving while it is written.
//
// Once the first byte is out, the status is 200 for good: a failure after
// that aborts the connection, so the client reads an unexpected end of the
// body, and the archive lacks the manifest that ends a complete one.
func (s *Server) adminBackup(w http.ResponseWriter, r *http.Request) {
	out := &backupResponse{w: w, rc: http.NewResponseController(w),
		name: "designate-" + time.Now().UTC().Format("20060102T150405Z") + ".tar"}
	err := s.svc.Backup(r.Context(), actorOf(r), clientAddress(r), out)
	if err == nil {
		return
	}
	if !out.started {
		s.fail(w, r, err)
		return
	}
	s.log.Warn("backup cut short", "bytes", out.n, "address", clientAddress(r), "err", err)
	panic(http.ErrAbortHandler)
}

// backupResponse sends the download's headers with the first byte, so that
// a refusal before it is still an ordinary error answer, and keeps pushing
// the write deadline ahead while the client keeps reading.
type backupResponse struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	name     string
	started  bool
	n        int64
	deadline time.Time
}

func (b *backupResponse) Write(p []byte) (int, error) {
	if !b.started {
		b.started = true
		h := b.w.Header()
		h.Set("Content-Type", "application/x-tar")
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", b.name))
		h.Set("Cache-Control", "no-store")
		b.w.WriteHeader(http.StatusOK)
	}
	// Moved at most once a second: each move is a system call.
	if now := time.Now(); b.deadline.Sub(now) < backupStall-time.Second {
		b.deadline = now.Add(backupStall)
		if err := b.rc.SetWriteDeadline(b.deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return 0, err
		}
	}
	n, err := b.w.Write(p)
	b.n += int64(n)
	return n, err
}
