package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing the
// test (embedding the interface is the only way to implement it; Check calls
// only the methods below).
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatal(args ...any) { r.errors = append(r.errors, fmt.Sprint(args...)) }

func TestCheckAndUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	orig := "intro\n<!-- table:begin (generated) -->\nold $x\n<!-- table:end -->\noutro\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Section(t, path, "table"); got != "old $x\n" {
		t.Fatalf("Section = %q", got)
	}
	rec := &recorder{}
	Check(rec, path, "table", "new $1\n", false, "update it")
	if len(rec.errors) != 1 {
		t.Errorf("Check of a stale section reported %q, want one error", rec.errors)
	}
	rec = &recorder{}
	Check(rec, path, "table", "old $x\n", false, "update it")
	if len(rec.errors) != 0 {
		t.Errorf("Check of an up-to-date section reported %q", rec.errors)
	}
	Check(t, path, "table", "new $1\n", true, "")
	data, _ := os.ReadFile(path)
	if want := "intro\n<!-- table:begin (generated) -->\nnew $1\n<!-- table:end -->\noutro\n"; string(data) != want {
		t.Errorf("updated file = %q, want %q", data, want)
	}
	if _, err := Read(path, "missing"); err == nil {
		t.Error("Read of a missing section succeeded")
	}
}
