package site_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/publish/pages"
	"github.com/kwbauson/create-pin-refs/pkg/site"
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
