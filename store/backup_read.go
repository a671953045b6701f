package store

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Reading a backup: the walk Restore and VerifyBackup share, so both accept
// exactly the same archives.

// VerifyBackup reads a whole backup without writing anything: every name
// in a form a backup writes, the database and every file matching their
// digests, and the manifest last, matching what came before it. It is how
// a backup fetched over the network is known complete before it replaces
// anything. Returns the manifest.
func VerifyBackup(r io.Reader) (BackupManifest, error) {
	var seen archiveTally
	err := walkBackup(r, &seen, func(kind backupEntry, hdr *tar.Header, digest string, r io.Reader) error {
		if kind != entryFile {
			return nil // the walk hashes the database and reads the manifest
		}
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return fmt.Errorf("%s: the backup is damaged or cut short: %w", hdr.Name, err)
		}
		if hex.EncodeToString(h.Sum(nil)) != digest {
			return fmt.Errorf("%s does not match its digest: the backup is damaged", hdr.Name)
		}
		return nil
	})
	if err != nil {
		return BackupManifest{}, fmt.Errorf("verify backup: %w", err)
	}
	if seen.manifest == nil {
		return BackupManifest{}, errors.New("verify backup: the archive ends without its manifest: it was cut short")
	}
	return *seen.manifest, nil
}

// backupEntry is the kind of an entry of a backup.
type backupEntry int

const (
	entryDatabase backupEntry = iota + 1
	entryFile
	entryManifest
)

// archiveTally is what a walk through a backup has seen so far.
type archiveTally struct {
	sawDB     bool
	dbBytes   int64
	dbSHA256  string
	files     int
	fileBytes int64
	manifest  *BackupManifest
}

// walkBackup reads a backup's entries in order and calls fn with each
// database and file entry, whose content fn must read (the database through
// a reader that hashes it). It refuses any name but the forms a backup
// writes, a second database, anything after the manifest, and a manifest
// that does not match the entries before it. The manifest is left in
// seen.manifest, nil when the archive has none.
func walkBackup(r io.Reader, seen *archiveTally, fn func(kind backupEntry, hdr *tar.Header, digest string, r io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("the backup is damaged or cut short: %w", err)
		}
		if seen.manifest != nil {
			return fmt.Errorf("unexpected entry %q after the manifest", hdr.Name)
		}
		kind, digest, err := classifyEntry(hdr, seen.sawDB)
		if err != nil {
			return err
		}
		switch kind {
		case entryDatabase:
			seen.sawDB = true
			h := sha256.New()
			cr := &countingReader{r: io.TeeReader(tr, h)}
			if err := fn(kind, hdr, "", cr); err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, cr); err != nil {
				return fmt.Errorf("database: the backup is damaged or cut short: %w", err)
			}
			seen.dbBytes, seen.dbSHA256 = cr.n, hex.EncodeToString(h.Sum(nil))
		case entryFile:
			if err := fn(kind, hdr, digest, tr); err != nil {
				return err
			}
			seen.files++
			seen.fileBytes += hdr.Size
		case entryManifest:
			m, err := readManifest(tr, hdr.Size)
			if err != nil {
				return err
			}
			if err := seen.matches(m); err != nil {
				return err
			}
			seen.manifest = &m
		}
	}
	if !seen.sawDB {
		return errors.New("the archive holds no database; is it a designate backup?")
	}
	return nil
}

// classifyEntry accepts an entry only in a form a backup writes.
func classifyEntry(hdr *tar.Header, sawDB bool) (backupEntry, string, error) {
	if hdr.Typeflag == tar.TypeReg {
		switch {
		case hdr.Name == backupDB && !sawDB:
			return entryDatabase, "", nil
		case hdr.Name == backupManifest:
			return entryManifest, "", nil
		case strings.HasPrefix(hdr.Name, backupFiles+"/"+keptDir+"/"):
			digest := path.Base(hdr.Name)
			if validDigest(digest) && hdr.Name == path.Join(backupFiles, keptName(digest)) {
				return entryFile, digest, nil
			}
		}
	}
	return 0, "", fmt.Errorf("unexpected entry %q", hdr.Name)
}

// readManifest decodes the manifest entry; it is small, so a huge one is
// damage, not a manifest.
func readManifest(r io.Reader, size int64) (BackupManifest, error) {
	var m BackupManifest
	if size > 64<<10 {
		return m, fmt.Errorf("%s is %d bytes: the backup is damaged", backupManifest, size)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return m, fmt.Errorf("%s: the backup is damaged or cut short: %w", backupManifest, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("%s: the backup is damaged: %w", backupManifest, err)
	}
	if m.Format != backupFormat {
		return m, fmt.Errorf("%s: format %d, this program reads %d", backupManifest, m.Format, backupFormat)
	}
	return m, nil
}

// matches compares the manifest with what the walk read before it.
func (t *archiveTally) matches(m BackupManifest) error {
	switch {
	case !t.sawDB:
		return fmt.Errorf("%s comes before the database: the backup is damaged", backupManifest)
	case m.Database.Bytes != t.dbBytes || m.Database.SHA256 != t.dbSHA256:
		return errors.New("the database does not match the manifest's size and SHA-256: the backup is damaged")
	case m.Files != t.files || m.FileBytes != t.fileBytes:
		return fmt.Errorf("the archive holds %d files (%d bytes), its manifest says %d (%d bytes): the backup is damaged",
			t.files, t.fileBytes, m.Files, m.FileBytes)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
