package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// TestMigration_SchemaTwo_StartsAndChecksClean takes the data directory of
// the release before schema 3 (store/testdata/schema2: the demo with a
// city's draft of accented, marked-up text and files) through what an
// operator does after the upgrade: `designate check` refuses the old file
// and says why, the server's first start migrates it, every dossier reads
// back as its old record had it, the city sees its own text, and the check
// is clean afterwards.
func TestMigration_SchemaTwo_StartsAndChecksClean(t *testing.T) {
	data := t.TempDir()
	copyTree(t, filepath.Join(repoRoot(t), "store", "testdata", "schema2"), data)
	want := schemaTwoDossiers(t, filepath.Join(data, "designate.db"))

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"check", "--data", data}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "start the server once") {
		t.Fatalf("check of the schema 2 file = %v, want a refusal saying to start the server once", err)
	}

	// A backup before the upgrade copies the old file as it is.
	backup := filepath.Join(t.TempDir(), "before-upgrade.tar")
	out.Reset()
	if err := run(context.Background(), []string{"backup", "--data", data, "--out", backup}, &out, &errOut); err != nil {
		t.Fatalf("backup of the schema 2 data: %v\n%s", err, errOut.String())
	}

	tm := MustRunMainConfig(t, ConfigForTest(t, data, true), engine.NewManualClock(time.Date(2026, time.December, 10, 12, 0, 0, 0, time.UTC)))
	for id, w := range want {
		got, err := tm.Service.Application(context.Background(), engine.System, id)
		if err != nil {
			t.Fatalf("read dossier %s after the migration: %v", id, err)
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(w)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("dossier %s after the migration:\n%s\nwant\n%s", id, gotJSON, wantJSON)
		}
	}

	// Cannes, through the API, finds its draft as it left it.
	accounts, err := os.ReadFile(filepath.Join(data, demoAccountsFile))
	if err != nil {
		t.Fatal(err)
	}
	token := tm.MustLogin("cannes@example.org", demoPassword(t, string(accounts), "cannes@example.org"))
	var mine struct {
		Items []struct{ ID string }
	}
	tm.MustDo(200, "GET", "/api/v1/applications", token, nil, &mine)
	if len(mine.Items) != 1 {
		t.Fatalf("Cannes lists %d dossiers, want its one draft", len(mine.Items))
	}
	var draft engine.Application
	tm.MustDo(200, "GET", "/api/v1/applications/"+mine.Items[0].ID, token, nil, &draft)
	if !strings.Contains(draft.Sections["challenges"], "Cinéma <b>&</b> «festival» été") || len(draft.Attachments) != 4 ||
		draft.Contacts.Mayor.Email != "maire@cannes.fr" || draft.State != engine.Draft {
		t.Errorf("Cannes's draft after the migration: state %s, %d files, mayor %q, challenges %.60q",
			draft.State, len(draft.Attachments), draft.Contacts.Mayor.Email, draft.Sections["challenges"])
	}
	tm.Stop()

	out.Reset()
	if err := run(context.Background(), []string{"check", "--data", data}, &out, &errOut); err != nil {
		t.Fatalf("check after the migration: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "data is sound") || !strings.Contains(out.String(), "49 dossiers") {
		t.Errorf("check says %q, want the 49 dossiers sound", out.String())
	}

	// Restoring the backup taken before the upgrade migrates it too.
	restored := filepath.Join(t.TempDir(), "restored")
	out.Reset()
	if err := run(context.Background(), []string{"restore", "--data", restored, "--from", backup}, &out, &errOut); err != nil {
		t.Fatalf("restore of the pre-upgrade backup: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "data is sound") || !strings.Contains(out.String(), "49 dossiers") {
		t.Errorf("restore says %q, want the 49 dossiers sound", out.String())
	}
}

// schemaTwoDossiers decodes every whole dossier record of a schema 2 file.
func schemaTwoDossiers(t *testing.T, path string) map[string]*engine.Application {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	apps := map[string]*engine.Application{}
	err = b.View(func(tx *bolt.Tx) error {
		if v := string(tx.Bucket([]byte("meta")).Get([]byte("schema"))); v != "2" {
			t.Fatalf("the fixture is schema %q, want 2", v)
		}
		return tx.Bucket([]byte("applications")).ForEach(func(k, v []byte) error {
			var a engine.Application
			apps[string(k)] = &a
			return json.Unmarshal(v, &a)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 49 {
		t.Fatalf("the fixture holds %d dossiers, want 49", len(apps))
	}
	return apps
}

// copyTree copies the directory src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, raw, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
