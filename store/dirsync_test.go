package store

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// dsRecord records every directory synced until the test ends.
func dsRecord(t *testing.T) func() []string {
	t.Helper()
	var mu sync.Mutex
	var synced []string
	prev := dirSynced
	dirSynced = func(p string) {
		mu.Lock()
		defer mu.Unlock()
		synced = append(synced, filepath.Clean(p))
	}
	t.Cleanup(func() { dirSynced = prev })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := slices.Clone(synced)
		synced = nil
		return out
	}
}

func dsWant(t *testing.T, what string, synced []string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if !slices.Contains(synced, filepath.Clean(d)) {
			t.Errorf("%s: %s was not synced (synced: %s)", what, d, strings.Join(synced, ", "))
		}
	}
}

// Each directory OpenFiles creates is synced into its parent: the data
// directory's files/ and its staging/ and sha256/ would otherwise vanish
// in a crash with the files kept in them.
func TestOpenFiles_NewDirectories_AreSyncedIntoTheirParents(t *testing.T) {
	synced := dsRecord(t)
	base := t.TempDir()
	dir := filepath.Join(base, "data", "files")
	f, err := OpenFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	dsWant(t, "OpenFiles", synced(), base, filepath.Join(base, "data"), dir)
}

// Content kept already is not written again, but its directory is synced:
// the Keep that renamed it there may not have synced it yet, and this
// caller's record must not commit before the entry is durable.
func TestKeep_ContentKeptAlready_SyncsItsDirectory(t *testing.T) {
	f, err := OpenFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	content := []byte("the same letter, sent twice")
	first, err := f.Stage(bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	digest := first.Digest()
	if err := first.Keep(); err != nil {
		t.Fatal(err)
	}
	synced := dsRecord(t)
	s, err := f.Stage(bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Keep(); err != nil {
		t.Fatal(err)
	}
	dsWant(t, "Keep of content kept already", synced(), filepath.Join(f.Dir(), keptDir, digest[:2]))
}

// A backup written to a file is renamed into place, and the rename synced;
// a restore syncs the directories it creates into their parents.
func TestBackupToAndRestore_SyncTheirDirectories(t *testing.T) {
	db := openTemp(t)
	files, err := OpenFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	synced := dsRecord(t)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "backup.tar")
	if _, err := BackupTo(out, db, files); err != nil {
		t.Fatal(err)
	}
	dsWant(t, "BackupTo", synced(), outDir)

	base := t.TempDir()
	data := filepath.Join(base, "new", "data")
	r, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := Restore(r, data); err != nil {
		t.Fatal(err)
	}
	dsWant(t, "Restore", synced(), base, filepath.Join(base, "new"), data)
}
