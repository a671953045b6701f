package engine

import (
	"context"
	"fmt"
	"io"
)

// Backuper writes a consistent copy of everything the server keeps (the
// records and the files they name) as one archive, in the form `designate
// restore` reads, while the server goes on serving. The store provides it.
type Backuper interface {
	// WriteBackup writes the archive to w. The archive ends with a manifest
	// of what it holds; one it could not finish has none, so a reader can
	// tell it is cut short.
	WriteBackup(ctx context.Context, w io.Writer) error
}

// AuditBackup is a backup taken through the running server: a copy of every
// record leaving it, so the admin sees who took one and when.
const AuditBackup = "backup"

// Backup writes a consistent copy of the whole data to w while the server
// goes on serving: the admin's alone, since it holds every dossier, draft
// or not, and every account. It is recorded in the audit log before the
// first byte. Returns EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND (this server has
// no Backuper); any other error may come after bytes were written to w,
// which then holds an archive without its manifest.
func (s *Service) Backup(ctx context.Context, actor Actor, address string, w io.Writer) error {
	if err := requireSignedIn(actor); err != nil {
		return err
	}
	if actor.Role != RoleAdmin {
		return Errorf(EFORBIDDEN, "Only the admin can take a backup.")
	}
	if s.Backups == nil {
		return Errorf(ENOTFOUND, "This server cannot take backups.")
	}
	s.Record(AuditEvent{Actor: actor.Email, Role: actor.Role, Action: AuditBackup, Address: address})
	if err := s.Backups.WriteBackup(ctx, w); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
