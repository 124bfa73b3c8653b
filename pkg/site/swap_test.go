package site

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
)

// failingOps are the real calls, except that call number failAt (from 1)
// fails as on a full disk; calls counts them all.
func failingOps(failAt int, calls *int) fsOps {
	real := osOps()
	var mu sync.Mutex // trees may be written by several goroutines
	fail := func(op, name string) error {
		mu.Lock()
		defer mu.Unlock()
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
		link: func(old, new string) error {
			if err := fail("link", new); err != nil {
				return &os.LinkError{Op: "link", Old: old, New: new, Err: syscall.ENOSPC}
			}
			return real.link(old, new)
		},
		workers: 1,
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
// bundle, pins.json, index.html, both tarballs and the one-name bundles
// together), with no staging folder left; without a failure, the new site is
// in place whole, and one-name bundles it does not build are gone.
func TestWriteIsAllOrNothing(t *testing.T) {
	oldBundle, oldManifest := render(t, storePath)
	newBundle, newManifest := render(t, storePath, storePath)
	oldOnes, newOnes := renderOnes(t, storePath), renderOnes(t, storePath, storePath)
	for _, tt := range []struct {
		name     string
		previous bool // a site was published before
		ones     bool // the new site has one-name bundles
		parallel bool // trees are written by several goroutines
	}{
		{"over a previous site", true, true, false},
		{"over a previous site, without one-name bundles", true, false, false},
		{"into an empty folder", false, true, false},
		{"over a previous site, trees written in parallel", true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Bundle: newBundle, Manifest: newManifest, Index: fixed([]byte("new index"))}
			if tt.ones {
				in.PerPin = PerPin{Ones: newOnes}
			}
			prepare := func() string {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "CNAME"), []byte("pins.example.org"), 0o644); err != nil {
					t.Fatal(err)
				}
				if tt.previous {
					if _, err := WriteSite(dir, Input{Bundle: oldBundle, Manifest: oldManifest, Index: fixed([]byte("old index")), PerPin: PerPin{Ones: oldOnes}}); err != nil {
						t.Fatal(err)
					}
				}
				return dir
			}
			ops := func(failAt int, calls *int) fsOps { return failingOps(failAt, calls) }
			if tt.parallel {
				ops = func(failAt int, calls *int) fsOps {
					o := failingOps(failAt, calls)
					o.workers, o.parallelFrom = 3, 1
					return o
				}
			}
			var total int
			if _, err := write(prepare(), in, ops(0, &total)); err != nil {
				t.Fatal(err)
			}
			if total < len(newBundle.Files)+5 {
				t.Fatalf("a publish made %d file system calls; the test would miss steps", total)
			}
			for failAt := 1; failAt <= total; failAt++ {
				dir := prepare()
				before := tree(t, dir)
				var calls int
				_, err := write(dir, in, ops(failAt, &calls))
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("call %d of %d failed, but Write = %v", failAt, total, err)
				}
				if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
					t.Errorf("call %d of %d failed, and the site changed (-before +after):\n%s", failAt, total, diff)
				}
			}
			dir := prepare()
			if _, err := WriteSite(dir, in); err != nil {
				t.Fatal(err)
			}
			got := tree(t, dir)
			if !strings.HasSuffix(got[Index], " new index") || got[Tarball] != got[TarballGz] || !strings.Contains(got[Manifest], `"b"`) {
				t.Errorf("the new site is not whole: %v", got[Index])
			}
			_, hasB := got[filepath.Join(OnesDir, "b")]
			_, hasP := got[OnesDir]
			if hasB != tt.ones || hasP != tt.ones {
				t.Errorf("one-name bundles: p/ %v, p/b %v, want %v", hasP, hasB, tt.ones)
			}
			for p := range got {
				if p != "." && strings.HasPrefix(p, ".") {
					t.Errorf("%s left behind", p)
				}
			}
		})
	}
}

// TestEachCallsEveryFileOnce runs each sequentially and in parallel: every
// file once without errors; with one, that error and no call after it in a
// sequential run.
func TestEachCallsEveryFileOnce(t *testing.T) {
	files := make([]bundle.File, 1000)
	for i := range files {
		files[i].Path = strconv.Itoa(i)
	}
	boom := errors.New("boom")
	for _, tc := range []struct{ workers, from int }{{1, 0}, {4, 1}, {4, 2000}} {
		var mu sync.Mutex
		seen := map[string]int{}
		err := each(files, tc.workers, tc.from, func(f bundle.File) error {
			mu.Lock()
			defer mu.Unlock()
			seen[f.Path]++
			return nil
		})
		if err != nil || len(seen) != len(files) {
			t.Errorf("workers %d from %d: %d files seen, error %v", tc.workers, tc.from, len(seen), err)
		}
		for p, n := range seen {
			if n != 1 {
				t.Errorf("workers %d from %d: %s seen %d times", tc.workers, tc.from, p, n)
			}
		}
		var calls atomic.Int64
		err = each(files, tc.workers, tc.from, func(f bundle.File) error {
			calls.Add(1)
			if f.Path == "10" {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("workers %d from %d: error %v, want %v", tc.workers, tc.from, err, boom)
		}
		if c := calls.Load(); c == int64(len(files)) || tc.workers == 1 && c != 11 {
			t.Errorf("workers %d from %d: %d calls after an error at the 11th", tc.workers, tc.from, c)
		}
	}
}

// TestTreeLinksSharedBytes: a file made as a copy of the one before it (the
// same bytes in memory) is a hard link to it; equal bytes held apart are two
// files.
func TestTreeLinksSharedBytes(t *testing.T) {
	shared := []byte("tarball")
	files := []bundle.File{
		{Path: "p/a", Data: shared, Mode: 0o644},
		{Path: "p/a.tar.gz", Data: shared, Mode: 0o644},
		{Path: "p/b", Data: []byte("tarball"), Mode: 0o644},
	}
	for _, parallel := range []bool{false, true} {
		dir := t.TempDir()
		ops := osOps()
		if parallel {
			ops.parallelFrom = 1
		}
		sw, err := newSwap(dir, ops)
		if err != nil {
			t.Fatal(err)
		}
		if err := sw.tree("t", files); err != nil {
			t.Fatal(err)
		}
		if err := sw.commit(); err != nil {
			t.Fatal(err)
		}
		if err := sw.close(); err != nil {
			t.Fatal(err)
		}
		stat := func(p string) os.FileInfo {
			fi, err := os.Stat(filepath.Join(dir, "t", p))
			if err != nil {
				t.Fatal(err)
			}
			return fi
		}
		if !os.SameFile(stat("p/a"), stat("p/a.tar.gz")) {
			t.Errorf("parallel %v: p/a.tar.gz is not a link to p/a", parallel)
		}
		if os.SameFile(stat("p/a"), stat("p/b")) {
			t.Errorf("parallel %v: p/b, equal bytes held apart, is a link to p/a", parallel)
		}
		for _, p := range []string{"p/a", "p/a.tar.gz", "p/b"} {
			if data, err := os.ReadFile(filepath.Join(dir, "t", p)); err != nil || string(data) != "tarball" {
				t.Errorf("%s = %q, %v", p, data, err)
			}
		}
	}
}
