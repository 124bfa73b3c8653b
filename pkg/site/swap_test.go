package site

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
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
		writeWith: func(name string, perm fs.FileMode, write func(io.Writer) error) error {
			if err := fail("write", name); err != nil {
				// A full disk leaves part of the file behind.
				_ = real.writeWith(name, perm, func(w io.Writer) error {
					_, err := w.Write([]byte("part"))
					return err
				})
				return err
			}
			return real.writeWith(name, perm, write)
		},
		link: func(old, new string) error {
			if err := fail("link", new); err != nil {
				return &os.LinkError{Op: "link", Old: old, New: new, Err: syscall.ENOSPC}
			}
			return real.link(old, new)
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
// bundle, pins.json, index.html, both tarballs and the one-name bundles
// together), with no staging folder left; without a failure, the new site is
// in place whole, and one-name bundles it does not build are gone.
func TestWriteIsAllOrNothing(t *testing.T) {
	oldBundle, oldManifest := render(t, storePath)
	newBundle, newManifest := render(t, storePath, storePath)
	oldOnes, newOnes := renderOnes(t, storePath), renderOnes(t, storePath, storePath)
	// a stays, b changes, c goes: the one-name folder is patched.
	changedOnes := renderOnes(t, storePath, otherStorePath, storePath)
	for _, tt := range []struct {
		name     string
		previous bool // a site was published before
		ones     bool // the new site has one-name bundles
		oldOnes  bundle.OneList
	}{
		{"over a previous site", true, true, oldOnes},
		{"over a previous site whose one-name bundles change", true, true, changedOnes},
		{"over a previous site, without one-name bundles", true, false, oldOnes},
		{"into an empty folder", false, true, oldOnes},
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
					if _, err := WriteSite(dir, Input{Bundle: oldBundle, Manifest: oldManifest, Index: fixed([]byte("old index")), PerPin: PerPin{Ones: tt.oldOnes}}); err != nil {
						t.Fatal(err)
					}
				}
				return dir
			}
			ops := failingOps
			var total int
			if _, p, err := write(prepare(), in, ops(0, &total)); err != nil {
				t.Fatal(err)
			} else if err := p.Keep(); err != nil {
				t.Fatal(err)
			}
			if total < len(newBundle.Files)+5 {
				t.Fatalf("a publish made %d file system calls; the test would miss steps", total)
			}
			for failAt := 1; failAt <= total; failAt++ {
				dir := prepare()
				before := tree(t, dir)
				var calls int
				_, p, err := write(dir, in, ops(failAt, &calls))
				if p != nil || !errors.Is(err, syscall.ENOSPC) {
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

// TestPendingUndo: a site put in place with WriteSitePending is taken back
// whole by Undo, the previous site then exactly as it was, or kept by Keep;
// either way no staging folder is left. Meanwhile the previous site is in
// the staging folder that Staging names, an entry of the site folder.
func TestPendingUndo(t *testing.T) {
	oldBundle, oldManifest := render(t, storePath)
	newBundle, newManifest := render(t, storePath, storePath)
	oldOnes, newOnes := renderOnes(t, storePath), renderOnes(t, storePath, storePath)
	newSite := Input{Bundle: newBundle, Manifest: newManifest, Index: fixed([]byte("new index")), PerPin: PerPin{Ones: newOnes}}
	for _, tt := range []struct {
		name     string
		previous *Input // the site published before, if any
		undo     bool
	}{
		{"undo over a previous site", &Input{Bundle: oldBundle, Manifest: oldManifest, Index: fixed([]byte("old index")), PerPin: PerPin{Ones: oldOnes}}, true},
		{"undo over a previous site whose one-name bundles change", &Input{Bundle: oldBundle, Manifest: oldManifest, Index: fixed([]byte("old index")), PerPin: PerPin{Ones: renderOnes(t, storePath, otherStorePath, storePath)}}, true},
		{"undo over a previous site without one-name bundles", &Input{Bundle: oldBundle, Manifest: oldManifest}, true},
		{"undo into an empty folder", nil, true},
		{"keep over a previous site", &Input{Bundle: oldBundle, Manifest: oldManifest, Index: fixed([]byte("old index"))}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "CNAME"), []byte("pins.example.org"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.previous != nil {
				if _, err := WriteSite(dir, *tt.previous); err != nil {
					t.Fatal(err)
				}
			}
			before := tree(t, dir)
			_, p, err := WriteSitePending(dir, newSite)
			if err != nil {
				t.Fatal(err)
			}
			pending := tree(t, dir)
			if !strings.HasPrefix(p.Staging(), ".staging-") || pending[p.Staging()] == "" {
				t.Errorf("Staging() = %q, not the staging folder in the site folder", p.Staging())
			}
			if !strings.HasSuffix(pending[Index], " new index") {
				t.Errorf("while pending, the new site is not in place: index.html %q", pending[Index])
			}
			want := map[string]string{}
			if tt.undo {
				err, want = p.Undo(), before
			} else {
				err = p.Keep()
				for k, v := range pending {
					if k != p.Staging() && !strings.HasPrefix(k, p.Staging()+string(filepath.Separator)) {
						want[k] = v
					}
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
				t.Errorf("after Undo %v (-want +got):\n%s", tt.undo, diff)
			}
			if err := p.Undo(); err != nil || p.Keep() != nil {
				t.Errorf("a second Undo or Keep: %v", err)
			}
			if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
				t.Errorf("a second Undo or Keep changed the site (-want +got):\n%s", diff)
			}
		})
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
	dir := t.TempDir()
	sw, err := newSwap(dir, osOps())
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
		t.Error("p/a.tar.gz is not a link to p/a")
	}
	if os.SameFile(stat("p/a"), stat("p/b")) {
		t.Error("p/b, equal bytes held apart, is a link to p/a")
	}
	for _, p := range []string{"p/a", "p/a.tar.gz", "p/b"} {
		if data, err := os.ReadFile(filepath.Join(dir, "t", p)); err != nil || string(data) != "tarball" {
			t.Errorf("%s = %q, %v", p, data, err)
		}
	}
}

const otherStorePath = "/nix/store/1d9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-y"

// TestWriteLeavesUnchangedOnes: a republish leaves the one-name bundles
// whose bytes are already in place untouched (the same files), and the
// site is the one a write into an empty folder makes, whatever the live
// one-name folder held: a changed name, a name gone, a symlink to the very
// bytes, a file of another mode, a file or a folder of someone else's.
func TestWriteLeavesUnchangedOnes(t *testing.T) {
	b, m := render(t, storePath, storePath)
	newSite := Input{Bundle: b, Manifest: m, Index: fixed([]byte("index")), PerPin: PerPin{Ones: renderOnes(t, storePath, storePath)}}
	fresh := t.TempDir()
	if _, err := WriteSite(fresh, newSite); err != nil {
		t.Fatal(err)
	}
	want := tree(t, fresh)
	for _, tt := range []struct {
		name string
		// change alters the live one-name folder p before the republish.
		change func(t *testing.T, p string)
		// kept are the files of p left as they were.
		kept []string
	}{
		{"a republish", func(*testing.T, string) {}, []string{"a", "a.tar.gz"}},
		{"a symlink to the bytes", func(t *testing.T, p string) {
			if err := os.Rename(filepath.Join(p, "a"), filepath.Join(p, "copy")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("copy", filepath.Join(p, "a")); err != nil {
				t.Fatal(err)
			}
		}, []string{"a.tar.gz"}},
		{"a file of another mode", func(t *testing.T, p string) {
			if err := os.Remove(filepath.Join(p, "a.tar.gz")); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(p, "a"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p, "a.tar.gz"), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"a"}},
		{"a file grown", func(t *testing.T, p string) {
			f, err := os.OpenFile(filepath.Join(p, "a"), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"a file of someone else's", func(t *testing.T, p string) {
			if err := os.WriteFile(filepath.Join(p, "README"), []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"a", "a.tar.gz"}},
		{"a folder of someone else's", func(t *testing.T, p string) {
			if err := os.Mkdir(filepath.Join(p, "mine"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b0, m0 := render(t, storePath)
			old := Input{Bundle: b0, Manifest: m0, Index: fixed([]byte("old index")), PerPin: PerPin{Ones: renderOnes(t, storePath, otherStorePath, storePath)}}
			if _, err := WriteSite(dir, old); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, OnesDir)
			tt.change(t, p)
			before := map[string]os.FileInfo{}
			for _, name := range tt.kept {
				st, err := os.Lstat(filepath.Join(p, name))
				if err != nil {
					t.Fatal(err)
				}
				before[name] = st
			}
			if _, err := WriteSite(dir, newSite); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
				t.Errorf("the site differs from one written afresh (-want +got):\n%s", diff)
			}
			for name, st := range before {
				if now, err := os.Lstat(filepath.Join(p, name)); err != nil || !os.SameFile(st, now) {
					t.Errorf("%s/%s was written again, though it held the bytes (%v)", OnesDir, name, err)
				}
			}
		})
	}
}

// BenchmarkRepublish writes a site of 10,000 names with its one-name
// bundles over the same site: what a republish with no change does to --out.
func BenchmarkRepublish(b *testing.B) {
	paths := make([]string, 10_000)
	for i := range paths {
		paths[i] = storePath
	}
	var raw []cachix.Pin
	for i, p := range paths {
		raw = append(raw, cachix.Pin{Name: fmt.Sprintf("name-%d", i), LastRevision: cachix.Revision{StorePath: p}})
	}
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		b.Fatal(err)
	}
	bun, err := bundle.Render(set, testMeta)
	if err != nil {
		b.Fatal(err)
	}
	ones, err := bundle.NewOnes(set, testMeta)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Bundle: bun, Manifest: NewManifest(set, testMeta), PerPin: PerPin{Ones: ones}}
	dir := b.TempDir()
	if _, err := WriteSite(dir, in); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := WriteSite(dir, in); err != nil {
			b.Fatal(err)
		}
	}
}
