package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's lifecycle diagrams are drawn from the engine's tables; this
// keeps the copy in the README equal to what the tables draw now.
func TestREADME_LifecycleDiagram_IsDrawnFromTheTable(t *testing.T) {
	path := filepath.Join(repoRoot(t), "README.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- lifecycle:begin -->\n", "<!-- lifecycle:end -->"
	readme := string(raw)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", begin, end)
	}
	got, want := readme[i+len(begin):j], lifecycleDiagram()
	if got != want {
		if os.Getenv("UPDATE_README") == "1" {
			if err := os.WriteFile(path, []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's diagram differs from the engine's table; run UPDATE_README=1 go test ./cmd/designate -run README\ngot:\n%s\nwant:\n%s", got, want)
	}
}
