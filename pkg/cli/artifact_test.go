package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// snapshotDir maps every path under dir to its type and content.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out[rel] = "folder"
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		default:
			data, err := os.ReadFile(p)
			out[rel] = string(data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPagesArtifactFailureKeepsThePreviousSite: when the Pages artifact
// cannot be written, the run fails naming it, and --out holds the previous
// site exactly as it was, beside the previous artifact, unchanged too: a path
// refused before anything is written, a site file the artifact cannot take
// (found while packing, after the new site went in place), and a folder that
// cannot be created even by root (the same, for the artifact's own file).
func TestPagesArtifactFailureKeepsThePreviousSite(t *testing.T) {
	s := startLiveSite(t)
	tests := []struct {
		name     string
		prepare  func(t *testing.T, out string) (artifact string) // "": the default
		code     int
		mentions []string
	}{
		{
			name: "artifact is a folder",
			prepare: func(t *testing.T, out string) string {
				dir := filepath.Join(filepath.Dir(out), "folder")
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			code:     ExitUsage,
			mentions: []string{"--artifact", "is a folder; give the path of the tar file to write"},
		},
		{
			name: "a site file the artifact cannot take",
			prepare: func(t *testing.T, out string) string {
				outside := filepath.Join(filepath.Dir(out), "outside")
				if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, filepath.Join(out, "latest")); err != nil {
					t.Fatal(err)
				}
				return ""
			},
			code:     ExitError,
			mentions: []string{"writing the Pages artifact ", `"latest": symbolic link points outside the site folder`, "the previous site in ", "and the previous artifact are left as they were"},
		},
		{
			name: "the artifact's folder cannot be made",
			prepare: func(t *testing.T, out string) string {
				if _, err := os.Stat("/proc/self"); err != nil {
					t.Skip("needs /proc, where no one creates a folder")
				}
				return "/proc/create-pin-refs-test/artifact.tar"
			},
			code:     ExitError,
			mentions: []string{"writing the Pages artifact: /proc/create-pin-refs-test/artifact.tar: ", "are left as they were; check that --artifact names a file in a folder that is writable and has room"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work, inputs := t.TempDir(), t.TempDir()
			out := filepath.Join(work, "site")
			publish := func(storePath string, artifact string) result {
				pinsFile := filepath.Join(inputs, "pins.json")
				pinsJSON := fmt.Sprintf(`[{"name": "hello", "lastRevision": {"storePath": %q, "revision": 1, "artifacts": ["bin/hello"]}}]`, storePath)
				if err := os.WriteFile(pinsFile, []byte(pinsJSON), 0o644); err != nil {
					t.Fatal(err)
				}
				args := []string{"--pins-file", pinsFile, "--substituter", "https://demo.cachix.org", "--mode", "pages", "--pages-url", s.url, "--out", out}
				if artifact != "" {
					args = append(args, "--artifact", artifact)
				}
				return run(t, nil, args...)
			}
			if r := publish(storePathN(1), ""); r.code != ExitOK {
				t.Fatalf("first publish: exit %d:\n%s", r.code, r.stderr)
			}
			artifact := tt.prepare(t, out)
			before := snapshotDir(t, work)
			r := publish(storePathN(2), artifact)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, tt.code, r.stderr)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(r.stderr, m) {
					t.Errorf("the error lacks %q:\n%s", m, r.stderr)
				}
			}
			if diff := cmp.Diff(before, snapshotDir(t, work)); diff != "" {
				t.Errorf("the failed run changed the previous site or artifact (-before +after):\n%s", diff)
			}
		})
	}
}
