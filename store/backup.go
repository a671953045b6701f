package store

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// A backup is a tar stream: the database as "designate.db", then every file
// a dossier names as "files/sha256/ab/abcdef…", then the manifest
// "designate-backup.json". The database is copied from one read
// transaction, so it is consistent, to a temporary file that is then sent:
// the transaction never waits on the client. The files are immutable and
// named by their content, so copying them after the transaction is safe.
//
// The manifest comes last and says what came before it (the database's
// size and SHA-256, how many files): an archive cut short at an entry's
// boundary is still a well-formed tar, so only the manifest tells a
// whole backup from a truncated one (a server that died mid-stream).
const (
	backupDB       = "designate.db"
	backupFiles    = "files"
	backupManifest = "designate-backup.json"
)

// BackupManifest is the last entry of a backup: what the archive holds.
type BackupManifest struct {
	Format   int       `json:"format"`
	TakenAt  time.Time `json:"taken_at"`
	Database struct {
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	} `json:"database"`
	Files     int   `json:"files"`
	FileBytes int64 `json:"file_bytes"`
}

// backupFormat is the manifest's format version.
const backupFormat = 1

// WriteBackup writes a consistent backup of the database and its files to
// w, while writers go on.
func WriteBackup(w io.Writer, db *DB, files *Files) error {
	return writeBackup(context.Background(), w, db, files)
}

// Backup is a running server's database and files, backed up through the
// server (engine.Backuper).
type Backup struct {
	DB    *DB
	Files *Files
}

var _ engine.Backuper = Backup{}

// WriteBackup writes the backup to w; it stops, with the archive left
// without its manifest, when ctx ends.
func (b Backup) WriteBackup(ctx context.Context, w io.Writer) error {
	return writeBackup(ctx, w, b.DB, b.Files)
}

func writeBackup(ctx context.Context, w io.Writer, db *DB, files *Files) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	m := BackupManifest{Format: backupFormat, TakenAt: now.UTC()}
	snapshot, digests, err := db.snapshotToFile(&m)
	if err != nil {
		return fmt.Errorf("backup database: %w", err)
	}
	defer func() {
		snapshot.Close()
		os.Remove(snapshot.Name())
	}()
	tw := tar.NewWriter(w)
	hdr := &tar.Header{Name: backupDB, Mode: 0o600, Size: m.Database.Bytes, ModTime: now, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, ctxReader{ctx, snapshot}); err != nil {
		return fmt.Errorf("backup database: %w", err)
	}
	for _, d := range digests {
		if err := ctx.Err(); err != nil {
			return err
		}
		size, err := copyFileTo(tw, files, d, now)
		if err != nil {
			return fmt.Errorf("backup file %s: %w", d, err)
		}
		m.Files++
		m.FileBytes += size
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	hdr = &tar.Header{Name: backupManifest, Mode: 0o600, Size: int64(len(raw)), ModTime: now, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(raw); err != nil {
		return err
	}
	return tw.Close()
}

// snapshotToFile copies the database, from one read transaction, to a
// temporary file beside it, hashed into m, and returns the file (at its
// start) with the digests of the files dossiers name. The transaction ends
// before the copy goes to the client: held open for a slow or stalled
// client, it would keep every page freed meanwhile from reuse, and a write
// that outgrows the memory map would wait for it.
func (db *DB) snapshotToFile(m *BackupManifest) (*os.File, []string, error) {
	// Beside the database, on a disk with room for it; in the system's
	// temporary directory when that one cannot be written (a read-only
	// copy backed up offline).
	pattern := filepath.Base(db.path) + ".backup-*"
	f, err := os.CreateTemp(filepath.Dir(db.path), pattern)
	if err != nil {
		if f, err = os.CreateTemp("", pattern); err != nil {
			return nil, nil, err
		}
	}
	var digests []string
	err = db.bolt.View(func(btx *bolt.Tx) error {
		h := sha256.New()
		n, err := btx.WriteTo(io.MultiWriter(f, h))
		if err != nil {
			return err
		}
		m.Database.Bytes, m.Database.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		digests = usedFiles(btx)
		return nil
	})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, nil, err
	}
	return f, digests, nil
}

// ctxReader stops a copy once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// usedFiles lists, once each, the digests of the files dossiers name.
func usedFiles(btx *bolt.Tx) []string {
	var out []string
	c := btx.Bucket(bucketIndex).Cursor()
	p := []byte{idxFile}
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		d, _, _ := bytes.Cut(k[1:], []byte{0})
		if n := len(out); n == 0 || out[n-1] != string(d) {
			out = append(out, string(d))
		}
	}
	return out
}

func copyFileTo(tw *tar.Writer, files *Files, digest string, now time.Time) (int64, error) {
	f, err := files.Open(digest)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	hdr := &tar.Header{Name: path.Join(backupFiles, keptName(digest)), Mode: 0o600, Size: f.Size(), ModTime: now, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, err
	}
	return io.Copy(tw, f)
}

// BackupTo writes a backup to the file out through a temporary file, synced
// and renamed, so a failed backup never leaves a partial one.
func BackupTo(out string, db *DB, files *Files) (int64, error) {
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	err = WriteBackup(f, db, files)
	var size int64
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		var info os.FileInfo
		if info, err = f.Stat(); err == nil {
			size = info.Size()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("backup to %s: %w", out, err)
	}
	// The rename is durable once the directory is: a crash must not leave
	// the old name, or none, after the backup was reported written.
	if err := syncDirPath(filepath.Dir(out)); err != nil {
		return 0, fmt.Errorf("backup to %s: %w", out, err)
	}
	return size, nil
}

// Restore unpacks a backup into dataDir, which must hold no database. Each
// file is checked against its digest as it is written; names in the archive
// are accepted only in the forms a backup writes, and written through an
// os.Root, so an archive cannot place anything elsewhere. The manifest, when
// the archive has one (every backup but those written before it existed),
// must match what came before it.
func Restore(r io.Reader, dataDir string) (err error) {
	if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
		what := "is not empty"
		if _, err := os.Stat(filepath.Join(dataDir, backupDB)); err == nil {
			what = "already holds a database"
		}
		return fmt.Errorf("restore: %s %s; restore into a new or empty directory", dataDir, what)
	}
	// Synced into their parents as they are created: the data directory
	// may be new.
	if err := mkdirAllSynced(filepath.Join(dataDir, backupFiles)); err != nil {
		return err
	}
	root, err := os.OpenRoot(dataDir)
	if err != nil {
		return err
	}
	defer root.Close()
	// The directory was empty: a failed restore leaves it so, ready for
	// another attempt.
	defer func() {
		if err != nil {
			root.RemoveAll(backupFiles)
			root.Remove(restoringDB)
		}
	}()
	files, err := OpenFiles(filepath.Join(dataDir, backupFiles))
	if err != nil {
		return err
	}
	defer files.Close()
	var seen archiveTally
	err = walkBackup(r, &seen, func(kind backupEntry, hdr *tar.Header, digest string, r io.Reader) error {
		switch kind {
		case entryDatabase:
			return restoreDB(root, r)
		case entryFile:
			staged, err := files.Stage(r, hdr.Size)
			if err != nil {
				return fmt.Errorf("%s: the backup is damaged or cut short: %w", hdr.Name, err)
			}
			if staged.Digest() != digest || staged.Size() != hdr.Size {
				staged.Discard()
				return fmt.Errorf("%s does not match its digest: the backup is damaged", hdr.Name)
			}
			return staged.Keep()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// The database goes in place last, once every file it names is kept.
	if err := root.Rename(restoringDB, backupDB); err != nil {
		return fmt.Errorf("restore database: %w", err)
	}
	return syncDirPath(dataDir)
}

const restoringDB = backupDB + ".restoring"

func restoreDB(root *os.Root, r io.Reader) error {
	f, err := root.OpenFile(restoringDB, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		root.Remove(restoringDB)
		return fmt.Errorf("database: the backup is damaged or cut short: %w", err)
	}
	return nil
}
