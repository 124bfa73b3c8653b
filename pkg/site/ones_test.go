package site_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/publish/pages"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// TestPerPinBudget writes a site with one-name bundles forced on, with auto
// and a budget they fit, and with auto and a budget they do not: the sizes
// Write reports are the Pages artifact's, measured by writing it, and the
// index page hears whether they were built.
func TestPerPinBudget(t *testing.T) {
	var raw []cachix.Pin
	for _, name := range []string{"hello", "v1.7", "a/b", "with space"} {
		raw = append(raw, cachix.Pin{Name: name, LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-" + "x"}})
	}
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	meta := bundle.Meta{Cache: "c", Substituter: "https://c.cachix.org"}
	b, err := bundle.Render(set, meta)
	if err != nil {
		t.Fatal(err)
	}
	ones, err := bundle.RenderOnes(set, meta)
	if err != nil {
		t.Fatal(err)
	}
	// The artifact of a site without one-name bundles, measured.
	plain := t.TempDir()
	noPage := func(bool) ([]byte, error) { return nil, nil } // but site.Finder, as below
	if _, err := site.WriteSite(plain, site.Input{Bundle: b, Manifest: site.NewManifest(set, meta), Index: noPage}); err != nil {
		t.Fatal(err)
	}
	plainSize := artifactSize(t, plain)
	for _, tt := range []struct {
		name      string
		perPin    site.PerPin
		wantBuilt bool
	}{
		{"on", site.PerPin{Ones: ones}, true},
		{"auto, within the budget", site.PerPin{Ones: ones, Auto: true, Budget: site.ArtifactBudget}, true},
		{"auto, over the budget", site.PerPin{Ones: ones, Auto: true, Budget: 48 << 10}, false},
		{"off", site.PerPin{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var indexSaw *bool
			out, err := site.WriteSite(dir, site.Input{
				Bundle:   b,
				Manifest: site.NewManifest(set, meta),
				Index:    func(perPin bool) ([]byte, error) { indexSaw = &perPin; return nil, nil },
				PerPin:   tt.perPin,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkWritten(t, dir, out.Written)
			if out.PerPin.Built != tt.wantBuilt || indexSaw == nil || *indexSaw != tt.wantBuilt {
				t.Fatalf("built %v (the index page heard %v), want %v", out.PerPin.Built, indexSaw, tt.wantBuilt)
			}
			_, statErr := os.Stat(filepath.Join(dir, site.OnesDir))
			if built := statErr == nil; built != tt.wantBuilt {
				t.Errorf("%s exists: %v, want %v", site.OnesDir, built, tt.wantBuilt)
			}
			if tt.perPin.Ones == nil {
				return
			}
			if out.PerPin.Names != len(ones) || out.PerPin.Bytes <= 0 {
				t.Errorf("reported %d names adding %d bytes, want %d names", out.PerPin.Names, out.PerPin.Bytes, len(ones))
			}
			// The estimate of the site without p/ counts the index page as
			// 16 KiB, and the measured site here has none.
			if d := out.PerPin.Artifact - plainSize; d < 0 || d > 20<<10 {
				t.Errorf("estimated the artifact without %s at %d bytes, measured %d", site.OnesDir, out.PerPin.Artifact, plainSize)
			}
			if !tt.wantBuilt {
				return
			}
			if got := artifactSize(t, dir) - plainSize; got != out.PerPin.Bytes {
				t.Errorf("%s adds %d bytes to the artifact, reported %d", site.OnesDir, got, out.PerPin.Bytes)
			}
			packer, err := bundle.NewOnesPacker(ones[0].Bundle)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range ones {
				bare, err1 := os.ReadFile(filepath.Join(dir, site.OnesDir, o.Segment))
				gz, err2 := os.ReadFile(filepath.Join(dir, site.OnesDir, o.Segment+".tar.gz"))
				want, _ := packer.Pack(o.Bundle)
				if err1 != nil || err2 != nil || !bytes.Equal(bare, want) || !bytes.Equal(gz, want) {
					t.Errorf("%s: p/%s and p/%s.tar.gz are not its tarball (%v, %v)", o.Name, o.Segment, o.Segment, err1, err2)
				}
			}
		})
	}
}

// artifactSize is the size of the Pages artifact of the site in dir.
func artifactSize(t *testing.T, dir string) int64 {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "a.tar")
	if _, err := pages.WriteArtifact(context.Background(), dir, tar); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(tar)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// checkWritten holds WriteSite's Output.Written to the site in dir: every
// file but pins.json, with its bytes, and nothing else; and the Pages artifact
// packed from it is the one packed from the disk.
func checkWritten(t *testing.T, dir string, written map[string][]byte) {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		data, ok := written[rel]
		switch {
		case rel == site.Manifest:
			if ok {
				t.Errorf("%s in Written: it is written as it is encoded", rel)
			}
			return nil
		case !ok:
			t.Errorf("%s not in Written", rel)
			return nil
		}
		seen++
		disk, err := os.ReadFile(p)
		if err == nil && !bytes.Equal(disk, data) {
			t.Errorf("%s: Written holds other bytes than the file", rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(written) {
		t.Errorf("Written holds %d files, the site %d", len(written), seen)
	}
	fromDisk, fromMemory := filepath.Join(t.TempDir(), "a.tar"), filepath.Join(t.TempDir(), "b.tar")
	if _, err := pages.WriteArtifact(context.Background(), dir, fromDisk); err != nil {
		t.Fatal(err)
	}
	if _, err := pages.WriteArtifactFrom(context.Background(), dir, fromMemory, written, ""); err != nil {
		t.Fatal(err)
	}
	a, err1 := os.ReadFile(fromDisk)
	b, err2 := os.ReadFile(fromMemory)
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Errorf("the artifact packed from Written differs from the one read from disk (%v, %v)", err1, err2)
	}
}
