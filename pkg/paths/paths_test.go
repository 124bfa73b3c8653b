package paths

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRealAndWithin(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "site")
	if err := os.Mkdir(site, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(site, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	got, err := Real(filepath.Join(dir, "link", "new", "a.tar"))
	if err != nil || got != filepath.Join(site, "new", "a.tar") {
		t.Errorf("Real through a link to a missing file = %q, %v", got, err)
	}
	for _, tt := range []struct {
		root, p string
		want    bool
	}{
		{site, site, true},
		{site, filepath.Join(site, "a"), true},
		{site, site + "-artifact", false},
		{site, dir, false},
		{"/", site, true},
	} {
		if got := Within(tt.root, tt.p); got != tt.want {
			t.Errorf("Within(%q, %q) = %v", tt.root, tt.p, got)
		}
	}
}
