package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

func TestPartOf(t *testing.T) {
	for name, want := range map[string]string{
		"data/shards/0.json":                  "shards",
		"data/shards/12.json":                 "shards",
		"data/index/all.json":                 "index/all.json",
		"data/index/any.json":                 "index/absent + any.json",
		"data/index/absent/x86_64-linux.json": "index/absent + any.json",
		"README.md":                           "README.md",
		"default.nix":                         "Nix files",
		"flake.nix":                           "Nix files",
		"data/meta.json":                      "other",
	} {
		if got := partOf(name); got != want {
			t.Errorf("partOf(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestReadTarParts splits a real bundle's tarball: every file lands in its
// part, the parts add up to the tar, and compressing the whole tar here gives
// the product's size again (the bench compresses at the product's level).
func TestReadTarParts(t *testing.T) {
	set, err := pins.Build(pinset.Synthetic(3000), pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Render(set, bundle.Meta{Cache: cacheName, Substituter: "https://bench.cachix.org"})
	if err != nil {
		t.Fatal(err)
	}
	tgz, err := b.Tarball()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pins.tar.gz")
	if err := os.WriteFile(file, tgz, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readTarParts(file)
	if err != nil {
		t.Fatal(err)
	}
	if got.tgz != int64(len(tgz)) || got.recompressed != got.tgz {
		t.Errorf(".tar.gz of %d bytes read as %d, recompressed to %d: the bench's gzip level is not bundle.Tarball's", len(tgz), got.tgz, got.recompressed)
	}
	var sum int64
	files := map[string]string{}
	for part, p := range got.parts {
		sum += p.raw
		if p.gz <= 0 || p.gz > p.raw+64 {
			t.Errorf("%s: %d bytes compressed to %d", part, p.raw, p.gz)
		}
		for _, f := range p.files {
			files[f] = part
		}
	}
	if sum != got.tar {
		t.Errorf("the parts hold %d bytes, the tar %d", sum, got.tar)
	}
	if len(files) != len(b.Files) {
		t.Errorf("%d files in the parts, %d in the bundle", len(files), len(b.Files))
	}
	var data int64
	for _, f := range b.Files {
		data += int64(len(f.Data))
		if files[f.Path] != partOf(f.Path) {
			t.Errorf("%s in part %q, want %q", f.Path, files[f.Path], partOf(f.Path))
		}
	}
	if h := got.parts["tar headers"]; h == nil || h.raw != got.tar-data || h.raw < int64(512*(len(b.Files)+2)) {
		t.Errorf("tar headers %+v for %d files, %d bytes of data in a %d-byte tar", h, len(b.Files), data, got.tar)
	}
	if len(got.parts["shards"].files) < 2 {
		t.Errorf("shards %v: 3,000 pins make several", got.parts["shards"].files)
	}
}

// TestReadTarPartsBroken: a tar cut short or claiming more than it holds is
// an error, not a table of wrong figures.
func TestReadTarPartsBroken(t *testing.T) {
	hdr := make([]byte, 512)
	copy(hdr, "pins/README.md")
	copy(hdr[124:], "00000001000\x00") // 512 bytes of data, which are missing
	hdr[156] = '0'
	for name, tar := range map[string][]byte{
		"past the end": hdr,
		"cut block":    hdr[:300],
		"bad size":     append(append([]byte{}, hdr[:124]...), append([]byte("zz"), hdr[126:]...)...),
	} {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(tar)
		_ = zw.Close()
		file := filepath.Join(t.TempDir(), "pins.tar.gz")
		if err := os.WriteFile(file, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readTarParts(file); err == nil || !strings.Contains(err.Error(), "pins.tar.gz") {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}
