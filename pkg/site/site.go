// Package site writes what a web server publishes: the bundle as a tarball under
// two names, a machine-readable list of the pins, and the unpacked bundle.
package site

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

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
	Format      int    `json:"format"`
	Cache       string `json:"cache,omitempty"`
	Substituter string `json:"substituter"`
	// Private: Nix needs a token to substitute from the cache.
	Private    bool     `json:"private,omitempty"`
	PublicKeys []string `json:"publicKeys"`
	Systems    []string `json:"systems"`
	// Verification says what the pins' closures were verified against,
	// besides Substituter; nil when they were not (--verify off).
	Verification *Verification `json:"verification,omitempty"`
	// Bundles are the immutable bundles the site serves, this publish's first.
	// They come before the pins, so that a reader can stop early.
	Bundles []BundleRef    `json:"bundles,omitempty"`
	Pins    []pins.Pin     `json:"pins"`
	Skipped []pins.Skipped `json:"skipped,omitempty"`
}

// Verification is what pins.json's verdicts (each pin's closure class and
// sizes) were made against.
type Verification struct {
	// Upstream are the caches asked for the paths Substituter lacks.
	Upstream []string `json:"upstream"`
}

// NewManifest describes set as published with meta.
func NewManifest(set *pins.Set, meta bundle.Meta) ManifestData {
	return ManifestData{
		Format:       bundle.FormatVersion,
		Cache:        meta.Cache,
		Substituter:  meta.Substituter,
		Private:      meta.Private,
		PublicKeys:   orEmpty(meta.PublicKeys),
		Systems:      orEmpty(set.Systems()),
		Verification: verification(set),
		Pins:         orEmpty(set.Pins),
		Skipped:      set.Skipped,
	}
}

func verification(set *pins.Set) *Verification {
	if set.Upstream == nil {
		return nil
	}
	return &Verification{Upstream: set.Upstream}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Input is what a site is made of.
type Input struct {
	Bundle   *bundle.Bundle
	Manifest ManifestData
	// Index renders index.html once it is known whether the one-name
	// bundles are built; nil: no index.html.
	Index func(perPin bool) ([]byte, error)
	// Earlier holds earlier publishes' immutable bundles by path.
	Earlier map[string][]byte
	PerPin  PerPin
}

// Output tells what Write did.
type Output struct {
	Files  int
	PerPin PerPinResult
	// Written is the content of every file written, by slash path in the
	// site folder (pins.json aside: it is written as it is encoded), for the
	// Pages artifact (pages.WriteArtifactFrom).
	Written map[string][]byte
	// Stale are the staging folders of killed runs that the write removed.
	Stale []string
}

// Write puts the site into dir: the immutable bundles, the bundle, pins.json,
// _headers when the site's URL is known, index.html and the names its finder
// loads (Finder) when index is not nil, and the two tarballs. BundlesDir holds
// the immutable bundle of m.Bundles[0] (see Seal) and earlier's (by path), and
// nothing else. It replaces only the entries it owns, so other files in dir
// survive, and it replaces them all or none: a failure at any step (a full
// disk) leaves the previous site whole. It returns the number of files written.
func Write(dir string, b *bundle.Bundle, m ManifestData, index []byte, earlier map[string][]byte) (int, error) {
	out, err := WriteSite(dir, Input{Bundle: b, Manifest: m, Index: fixed(index), Earlier: earlier})
	return out.Files, err
}

// WriteSite is Write with the one-name bundles (OnesDir), which it builds
// as in.PerPin says, or else removes from dir.
func WriteSite(dir string, in Input) (Output, error) {
	out, p, err := write(dir, in, osOps())
	if err != nil {
		return Output{}, err
	}
	return out, p.Keep()
}

// WriteSitePending is WriteSite that keeps the previous site aside until
// Keep or Undo is called, so that what must go live with the site (the Pages
// artifact) can still take it back: Undo puts the previous site back whole.
func WriteSitePending(dir string, in Input) (Output, *Pending, error) {
	return write(dir, in, osOps())
}

// Pending is a site in place whose previous entries are still kept, in a
// staging folder inside the site folder. Exactly one of Keep and Undo ends it.
type Pending struct {
	sw   *swap
	done bool
}

// Staging is the name of the staging folder, an entry of the site folder
// that is no part of the site: whatever packs the site meanwhile leaves it
// out.
func (p *Pending) Staging() string { return filepath.Base(p.sw.stage) }

// Keep discards the previous site.
func (p *Pending) Keep() error {
	if p.done {
		return nil
	}
	p.done = true
	if err := p.sw.close(); err != nil {
		return fmt.Errorf("removing the staging folder: %w", err)
	}
	return nil
}

// Undo puts the previous site back, as it was before the write, and
// discards the new one.
func (p *Pending) Undo() error {
	if p.done {
		return nil
	}
	p.done = true
	if err := p.sw.rollback(p.sw.names); err != nil {
		// The staging folder holds what could not be put back: it stays.
		return fmt.Errorf("putting the previous site back (what is missing is in %s): %w", p.sw.stage, err)
	}
	if err := p.sw.close(); err != nil {
		return fmt.Errorf("removing the staging folder: %w", err)
	}
	return nil
}

func fixed(index []byte) func(bool) ([]byte, error) {
	if index == nil {
		return nil
	}
	return func(bool) ([]byte, error) { return index, nil }
}

// write stages the site and puts it in place; the previous site stays in
// the staging folder until the Pending returned ends. On an error nothing
// has changed and nothing is pending.
func write(dir string, in Input, ops fsOps) (Output, *Pending, error) {
	out, sw, err := stage(dir, in, ops)
	if err == nil {
		if err = sw.commit(); err != nil {
			err = fmt.Errorf("replacing the site (the previous site was put back): %w", err)
		}
	}
	if err != nil {
		if sw != nil {
			if cerr := sw.close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("removing the staging folder: %w", cerr))
			}
		}
		return Output{}, nil, err
	}
	return out, &Pending{sw: sw}, nil
}

// stage writes every entry of the new site into a staging folder of dir; sw
// is nil when there is none yet.
func stage(dir string, in Input, ops fsOps) (out Output, sw *swap, err error) {
	b, m := in.Bundle, in.Manifest
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	// A bundle folder that is not ours is left alone.
	final := filepath.Join(dir, BundleDir)
	if _, err := os.Stat(final); err == nil {
		if _, err := os.Stat(filepath.Join(final, "data", "meta.json")); err != nil {
			return out, sw, fmt.Errorf("%s exists and was not written by create-pin-refs; refusing to replace it (choose another --out)", final)
		}
	}
	// Compression takes the longest: it runs on a second core while pins.json
	// is written, then the one-name bundles on every core.
	var tgz []byte
	var tgzErr error
	packed := make(chan struct{})
	go func() {
		defer close(packed)
		tgz, tgzErr = b.Tarball()
	}()
	defer func() { <-packed }() // never left running
	if out.Stale, err = removeStale(dir, time.Now()); err != nil {
		return out, nil, err
	}
	if sw, err = newSwap(dir, ops); err != nil {
		return out, nil, fmt.Errorf("staging the site: %w", err)
	}
	manifestSize, err := sw.stream(Manifest, func(w io.Writer) error { return WriteManifest(w, m) })
	if err != nil {
		return out, sw, fmt.Errorf("writing the site (the previous site is left as it was): %w", err)
	}
	var finder []byte
	if in.Index != nil {
		if finder, err = RenderFinder(m); err != nil {
			return out, sw, err
		}
	}
	if <-packed; tgzErr != nil {
		return out, sw, fmt.Errorf("packing the bundle: %w", tgzErr)
	}
	immutable, err := immutableFiles(dir, m, tgz, in.Earlier)
	if err != nil {
		return out, sw, err
	}
	entries := []struct {
		name string
		data []byte
	}{{Headers, RenderHeaders(m)}, {Finder, finder}, {Index, nil}, {TarballGz, tgz}, {Tarball, tgz}}
	// The artifact's size without OnesDir, the index page's few kilobytes
	// counted as 16.
	out.PerPin.Artifact = filesCost(immutable) + filesCost(b.Files) + 1024 + tarCost(16<<10) + tarCost(int(manifestSize))
	for _, e := range entries {
		out.PerPin.Artifact += tarCost(len(e.data))
	}
	limit := int64(0)
	if in.PerPin.Auto {
		limit = max(1, in.PerPin.Budget-out.PerPin.Artifact)
	}
	ones, cost, err := packOnes(in.PerPin.Ones, limit)
	if err != nil {
		return out, sw, err
	}
	if in.PerPin.Ones != nil && in.PerPin.Ones.Len() > 0 {
		out.PerPin.Names, out.PerPin.Bytes, out.PerPin.Built = in.PerPin.Ones.Len(), cost, ones != nil
	}
	if in.Index != nil {
		page, err := in.Index(out.PerPin.Built)
		if err != nil {
			return out, sw, fmt.Errorf("rendering %s: %w", Index, err)
		}
		for i := range entries {
			if entries[i].name == Index {
				entries[i].data = page
			}
		}
	}

	// In the order they go live: the immutable bundles first, the tarballs,
	// which consumers fetch, last.
	err = sw.tree(BundlesDir, immutable)
	if err == nil {
		err = sw.tree(BundleDir, b.Files)
	}
	if err == nil && out.PerPin.Built {
		// Changed file by file: a republish changes few names.
		var patched bool
		if patched, err = sw.patch(OnesDir, ones); err == nil && !patched {
			err = sw.tree(OnesDir, ones)
		}
		out.Files += len(ones)
	} else if err == nil {
		sw.remove(OnesDir) // one-name bundles of an earlier publish are stale
	}
	out.Files += len(immutable) + len(b.Files)
	if err == nil {
		sw.add(Manifest) // it lists the immutable bundles
		out.Files++
	}
	for _, e := range entries {
		if err == nil && e.data != nil {
			err = sw.file(e.name, e.data)
			out.Files++
		}
	}
	if err != nil {
		return Output{}, sw, fmt.Errorf("writing the site (the previous site is left as it was): %w", err)
	}
	out.Written = make(map[string][]byte, out.Files)
	trees := [][]bundle.File{immutable, b.Files, nil}
	if out.PerPin.Built {
		trees[2] = ones
	}
	for i, dir := range []string{BundlesDir, BundleDir, OnesDir} {
		for _, f := range trees[i] {
			out.Written[dir+"/"+f.Path] = f.Data
		}
	}
	for _, e := range entries {
		if e.data != nil {
			out.Written[e.name] = e.data
		}
	}
	return out, sw, nil
}
