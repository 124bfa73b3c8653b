package docs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckAndUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	orig := "intro\n<!-- table:begin (generated) -->\nold $x\n<!-- table:end -->\noutro\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Section(t, path, "table"); got != "old $x\n" {
		t.Fatalf("Section = %q", got)
	}
	ft := &testing.T{}
	Check(ft, path, "table", "new $1\n", false, "update it")
	if !ft.Failed() {
		t.Error("Check of a stale section did not fail")
	}
	Check(t, path, "table", "new $1\n", true, "")
	data, _ := os.ReadFile(path)
	if want := "intro\n<!-- table:begin (generated) -->\nnew $1\n<!-- table:end -->\noutro\n"; string(data) != want {
		t.Errorf("updated file = %q, want %q", data, want)
	}
}
