package store

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A backup is a tar stream: the database as "designate.db", then every file
// a dossier names as "files/sha256/ab/abcdef…". The database is copied from
// one read transaction, so it is consistent; the files are immutable and
// named by their content, so copying them after the transaction is safe.
const (
	backupDB    = "designate.db"
	backupFiles = "files"
)

// WriteBackup writes a consistent backup of the database and its files to
// w, while writers go on.
func WriteBackup(w io.Writer, db *DB, files *Files) error {
	tw := tar.NewWriter(w)
	var digests []string
	now := time.Now()
	err := db.bolt.View(func(btx *bolt.Tx) error {
		hdr := &tar.Header{Name: backupDB, Mode: 0o600, Size: btx.Size(), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := btx.WriteTo(tw); err != nil {
			return err
		}
		digests = usedFiles(btx)
		return nil
	})
	if err != nil {
		return fmt.Errorf("backup database: %w", err)
	}
	for _, d := range digests {
		if err := copyFileTo(tw, files, d, now); err != nil {
			return fmt.Errorf("backup file %s: %w", d, err)
		}
	}
	return tw.Close()
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

func copyFileTo(tw *tar.Writer, files *Files, digest string, now time.Time) error {
	f, err := files.Open(digest)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := &tar.Header{Name: path.Join(backupFiles, keptName(digest)), Mode: 0o600, Size: f.Size(), ModTime: now, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
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
	return size, nil
}

// Restore unpacks a backup into dataDir, which must hold no database. Each
// file is checked against its digest as it is written; names in the archive
// are accepted only in the two forms a backup writes, and written through
// an os.Root, so an archive cannot place anything elsewhere.
func Restore(r io.Reader, dataDir string) (err error) {
	if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
		what := "is not empty"
		if _, err := os.Stat(filepath.Join(dataDir, backupDB)); err == nil {
			what = "already holds a database"
		}
		return fmt.Errorf("restore: %s %s; restore into a new or empty directory", dataDir, what)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, backupFiles), 0o700); err != nil {
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
	tr := tar.NewReader(r)
	sawDB := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("restore: the backup is damaged or cut short: %w", err)
		}
		switch {
		case hdr.Typeflag == tar.TypeReg && hdr.Name == backupDB && !sawDB:
			sawDB = true
			if err := restoreDB(root, tr); err != nil {
				return err
			}
		case hdr.Typeflag == tar.TypeReg && strings.HasPrefix(hdr.Name, backupFiles+"/"+keptDir+"/"):
			digest := path.Base(hdr.Name)
			if !validDigest(digest) || hdr.Name != path.Join(backupFiles, keptName(digest)) {
				return fmt.Errorf("restore: unexpected entry %q", hdr.Name)
			}
			staged, err := files.Stage(tr, hdr.Size)
			if err != nil {
				return fmt.Errorf("restore %s: the backup is damaged or cut short: %w", hdr.Name, err)
			}
			if staged.Digest() != digest || staged.Size() != hdr.Size {
				staged.Discard()
				return fmt.Errorf("restore: %s does not match its digest: the backup is damaged", hdr.Name)
			}
			if err := staged.Keep(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("restore: unexpected entry %q", hdr.Name)
		}
	}
	if !sawDB {
		return errors.New("restore: the archive holds no database; is it a designate backup?")
	}
	// The database goes in place last, once every file it names is kept.
	if err := root.Rename(restoringDB, backupDB); err != nil {
		return fmt.Errorf("restore database: %w", err)
	}
	d, err := root.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
		return fmt.Errorf("restore database: the backup is damaged or cut short: %w", err)
	}
	return nil
}
