// Package site writes what a web server publishes: the bundle as a tarball under
// two names, a machine-readable list of the pins, and the unpacked bundle.
package site

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// File names inside the site folder.
const (
	// Tarball is served as URL/pins: Nix 2.18+ takes it as a flake, and -f takes
	// any tarball URL.
	Tarball = "pins"
	// TarballGz has the same bytes; Nix 2.8–2.17 need the extension for flakes.
	TarballGz = "pins.tar.gz"
	// Manifest lists every pin for tools.
	Manifest = "pins.json"
	// BundleDir is the unpacked bundle, exactly what a branch holds.
	BundleDir = "bundle"
)

// ManifestData is the content of pins.json.
type ManifestData struct {
	Format      int            `json:"format"`
	Cache       string         `json:"cache,omitempty"`
	Substituter string         `json:"substituter"`
	PublicKeys  []string       `json:"publicKeys"`
	Systems     []string       `json:"systems"`
	Pins        []pins.Pin     `json:"pins"`
	Skipped     []pins.Skipped `json:"skipped,omitempty"`
}

// NewManifest describes set as published with meta.
func NewManifest(set *pins.Set, meta bundle.Meta) ManifestData {
	return ManifestData{
		Format:      bundle.FormatVersion,
		Cache:       meta.Cache,
		Substituter: meta.Substituter,
		PublicKeys:  orEmpty(meta.PublicKeys),
		Systems:     orEmpty(set.Systems()),
		Pins:        orEmpty(set.Pins),
		Skipped:     set.Skipped,
	}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Write puts the site into dir, replacing only the entries it owns, each one
// atomically, so that other files in dir survive and a failed run leaves the
// previous site whole. It returns the number of files written.
func Write(dir string, b *bundle.Bundle, m ManifestData) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("creating %s: %w", dir, err)
	}
	tgz, err := b.Tarball()
	if err != nil {
		return 0, fmt.Errorf("packing the bundle: %w", err)
	}
	var manifest bytes.Buffer
	enc := json.NewEncoder(&manifest)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return 0, fmt.Errorf("encoding %s: %w", Manifest, err)
	}

	// The unpacked bundle first: the tarballs are what consumers fetch, so they
	// change last.
	tmp, err := os.MkdirTemp(dir, ".bundle-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	if err := b.WriteDir(tmp); err != nil {
		return 0, fmt.Errorf("writing the bundle: %w", err)
	}
	// Swap by renames: the old bundle is moved aside, never deleted before the
	// new one is in place. A bundle folder that is not ours is left alone.
	final := filepath.Join(dir, BundleDir)
	if _, err := os.Stat(final); err == nil {
		if _, err := os.Stat(filepath.Join(final, "data", "meta.json")); err != nil {
			return 0, fmt.Errorf("%s exists and was not written by create-pin-refs; refusing to replace it (choose another --out)", final)
		}
	}
	old := tmp + ".old"
	if err := os.Rename(final, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Rename(old, final)
		return 0, err
	}
	if err := os.RemoveAll(old); err != nil {
		return 0, err
	}
	n := len(b.Files)
	for _, f := range []struct {
		name string
		data []byte
	}{{Manifest, manifest.Bytes()}, {TarballGz, tgz}, {Tarball, tgz}} {
		if err := WriteFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// WriteFileAtomic replaces path with data (mode 0644) through a rename.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
