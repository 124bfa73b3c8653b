package site

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// failingOps are the real calls, except that call number failAt (from 1)
// fails as on a full disk; calls counts them all.
func failingOps(failAt int, calls *int) fsOps {
	real := osOps()
	fail := func(op, name string) error {
		*calls++
		if *calls == failAt {
			return &fs.PathError{Op: op, Path: name, Err: syscall.ENOSPC}
		}
		return nil
	}
	return fsOps{
		writeFile: func(name string, data []byte, perm fs.FileMode) error {
			if err := fail("write", name); err != nil {
				// A full disk leaves part of the file behind.
				_ = real.writeFile(name, data[:len(data)/2], perm)
				return err
			}
			return real.writeFile(name, data, perm)
		},
		mkdir: func(name string, perm fs.FileMode) error {
			if err := fail("mkdir", name); err != nil {
				return err
			}
			return real.mkdir(name, perm)
		},
		rename: func(from, to string) error {
			if err := fail("rename", from); err != nil {
				return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.ENOSPC}
			}
			return real.rename(from, to)
		},
	}
}

// tree maps every path under dir to its mode and content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = info.Mode().String()
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] += " " + string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWriteIsAllOrNothing fails each file system call of a publish in turn,
// as a full disk would: the previous site must stay exactly as it was (its
// bundle, pins.json, index.html and both tarballs together), with no staging
// folder left; without a failure, the new site is in place whole.
func TestWriteIsAllOrNothing(t *testing.T) {
	oldBundle, oldManifest := render(t, storePath)
	newBundle, newManifest := render(t, storePath, storePath)
	for _, tt := range []struct {
		name     string
		previous bool // a site was published before
	}{{"over a previous site", true}, {"into an empty folder", false}} {
		t.Run(tt.name, func(t *testing.T) {
			prepare := func() string {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "CNAME"), []byte("pins.example.org"), 0o644); err != nil {
					t.Fatal(err)
				}
				if tt.previous {
					if _, err := Write(dir, oldBundle, oldManifest, []byte("old index"), nil); err != nil {
						t.Fatal(err)
					}
				}
				return dir
			}
			var total int
			if _, err := write(prepare(), newBundle, newManifest, []byte("new index"), nil, failingOps(0, &total)); err != nil {
				t.Fatal(err)
			}
			if total < len(newBundle.Files)+5 {
				t.Fatalf("a publish made %d file system calls; the test would miss steps", total)
			}
			for failAt := 1; failAt <= total; failAt++ {
				dir := prepare()
				before := tree(t, dir)
				var calls int
				_, err := write(dir, newBundle, newManifest, []byte("new index"), nil, failingOps(failAt, &calls))
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("call %d of %d failed, but Write = %v", failAt, total, err)
				}
				if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
					t.Errorf("call %d of %d failed, and the site changed (-before +after):\n%s", failAt, total, diff)
				}
			}
			dir := prepare()
			if _, err := Write(dir, newBundle, newManifest, []byte("new index"), nil); err != nil {
				t.Fatal(err)
			}
			got := tree(t, dir)
			if !strings.HasSuffix(got[Index], " new index") || got[Tarball] != got[TarballGz] || !strings.Contains(got[Manifest], `"b"`) {
				t.Errorf("the new site is not whole: %v", got[Index])
			}
			for p := range got {
				if p != "." && strings.HasPrefix(p, ".") {
					t.Errorf("%s left behind", p)
				}
			}
		})
	}
}
