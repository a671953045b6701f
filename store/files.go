package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"designate/engine"
)

// Files keeps attachment content under a directory, one file per SHA-256:
// sha256/ab/abcdef…. Every path is opened through an os.Root, so no name
// can reach outside the directory, and the only names used are hex digests
// the store computed and random staging names it chose.
type Files struct {
	root    *os.Root
	dir     string
	syncing chan struct{}
}

var _ engine.Files = (*Files)(nil)

const (
	stagingDir = "staging"
	keptDir    = "sha256"
)

// OpenFiles opens (creating) the file store in dir. The directories it
// creates are synced into their parents: a file kept in one that a crash
// then lost would be a file a committed record names and nothing holds.
func OpenFiles(dir string) (*Files, error) {
	if err := mkdirAllSynced(dir); err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	f := &Files{root: root, dir: dir, syncing: make(chan struct{}, 1)}
	created := false
	for _, d := range []string{stagingDir, keptDir} {
		if _, err := root.Stat(d); errors.Is(err, fs.ErrNotExist) {
			created = true
		}
		if err := root.MkdirAll(d, 0o700); err != nil {
			root.Close()
			return nil, fmt.Errorf("files: %w", err)
		}
	}
	if created {
		if err := f.syncDir("."); err != nil {
			root.Close()
			return nil, fmt.Errorf("files: %w", err)
		}
	}
	return f, nil
}

// mkdirAllSynced is os.MkdirAll, then syncs the parent of each directory
// it created, so that the new entries survive a crash.
func mkdirAllSynced(dir string) error {
	dir = filepath.Clean(dir)
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || !errors.Is(err, fs.ErrNotExist) || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := syncDirPath(filepath.Dir(created[i])); err != nil {
			return err
		}
	}
	return nil
}

// syncDirPath syncs the directory at p.
func syncDirPath(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	dirSynced(p)
	return d.Sync()
}

// dirSynced is told each directory synced: the tests' way to see syncs
// that a running program cannot observe short of a crash.
var dirSynced = func(string) {}

// ClearStaging removes what interrupted uploads left in the staging
// directory: never kept, so nothing names it. Call it before serving.
func (f *Files) ClearStaging() error {
	err := f.root.RemoveAll(stagingDir)
	if err == nil {
		err = f.root.Mkdir(stagingDir, 0o700)
	}
	return err
}

// Close releases the directory.
func (f *Files) Close() error { return f.root.Close() }

// Dir is the directory the files are in.
func (f *Files) Dir() string { return f.dir }

func keptName(digest string) string { return path.Join(keptDir, digest[:2], digest) }

func validDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	_, err := hex.DecodeString(d)
	return err == nil && strings.ToLower(d) == d
}

// Stage copies up to limit+1 bytes of r to a new staging file, syncs it and
// returns it hashed.
func (f *Files) Stage(r io.Reader, limit int64) (engine.StagedFile, error) {
	name := path.Join(stagingDir, rand.Text())
	file, err := f.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	s := &staged{files: f, name: name, file: file, hash: sha256.New()}
	s.size, err = io.Copy(io.MultiWriter(file, s.hash), io.LimitReader(r, limit+1))
	// One upload syncs at a time: a queue of large flushes would hold up
	// the database's own small commits behind them.
	if err == nil {
		f.syncing <- struct{}{}
		err = file.Sync()
		<-f.syncing
	}
	if err != nil {
		s.Discard()
		return nil, fmt.Errorf("stage upload: %w", err)
	}
	return s, nil
}

type staged struct {
	files *Files
	name  string
	file  *os.File
	hash  hash.Hash
	size  int64
}

func (s *staged) ReadAt(p []byte, off int64) (int, error) { return s.file.ReadAt(p, off) }
func (s *staged) Size() int64                             { return s.size }
func (s *staged) Digest() string                          { return hex.EncodeToString(s.hash.Sum(nil)) }

// Keep renames the staged file to its digest's name and syncs the directory
// entry, so that once Keep returns the file survives a crash. Content that
// is kept already is not written twice; its time is refreshed instead.
func (s *staged) Keep() error {
	defer s.Discard()
	digest := s.Digest()
	dest := keptName(digest)
	if info, err := s.files.root.Stat(dest); err == nil && info.Size() == s.size {
		now := time.Now()
		if err := s.files.root.Chtimes(dest, now, now); err != nil {
			return err
		}
		// The Keep that wrote it may be running still, renamed and not yet
		// synced: this caller's record must not commit before the entry is
		// durable.
		return s.files.syncDir(path.Dir(dest))
	}
	// A new fan-out directory is itself an entry its parent must sync.
	if _, err := s.files.root.Stat(path.Dir(dest)); errors.Is(err, fs.ErrNotExist) {
		if err := s.files.root.Mkdir(path.Dir(dest), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := s.files.syncDir(keptDir); err != nil {
			return err
		}
	}
	if err := s.file.Close(); err != nil {
		return err
	}
	s.file = nil
	if err := s.files.root.Rename(s.name, dest); err != nil {
		return err
	}
	return s.files.syncDir(path.Dir(dest))
}

// Discard removes the staged file; after Keep it has nothing left to do.
func (s *staged) Discard() error {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	err := s.files.root.Remove(s.name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (f *Files) syncDir(name string) error {
	d, err := f.root.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	dirSynced(filepath.Join(f.dir, name))
	return d.Sync()
}

// Open opens the kept file with the digest.
func (f *Files) Open(digest string) (engine.StoredFile, error) {
	if !validDigest(digest) {
		return nil, engine.Errorf(engine.ENOTFOUND, "No such file.")
	}
	file, err := f.root.Open(keptName(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, engine.Errorf(engine.ENOTFOUND, "No such file.")
	} else if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	return &stored{File: file, info: info}, nil
}

type stored struct {
	*os.File
	info fs.FileInfo
}

func (s *stored) Size() int64        { return s.info.Size() }
func (s *stored) ModTime() time.Time { return s.info.ModTime() }

// Walk calls fn with every kept file, in digest order.
func (f *Files) Walk(fn func(digest string, kept time.Time) error) error {
	return fs.WalkDir(f.root.FS(), keptDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !validDigest(d.Name()) {
			return nil // not ours; the check lists only what it can name
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return fn(d.Name(), info.ModTime())
	})
}

// Remove deletes the kept file with the digest.
func (f *Files) Remove(digest string) error {
	if !validDigest(digest) {
		return fmt.Errorf("remove: %q is not a digest", digest)
	}
	err := f.root.Remove(keptName(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
