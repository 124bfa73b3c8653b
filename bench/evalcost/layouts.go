package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// layout is one way of writing the pins to a folder.
type layout struct {
	name string
	// write writes the pins under dir and returns the files written; real is the
	// valid store path the forced pins point at.
	write func(dir string, raw []cachix.Pin, real string) ([]bundle.File, error)
	// attr is the attribute path that selects name with `-f DIR`.
	attr func(name string) string
	// perName: DIR/SEGMENT is name's own bundle, evaluated whole (`-f
	// DIR/SEGMENT`), and attr is unused.
	perName bool
}

// floorDefault maps every name of the bundle's index for the current system to one
// valid store path: the index read and the attribute set, with no shard and no
// per-pin logic.
const floorDefault = `{ }:
builtins.mapAttrs (_: _: builtins.storePath %s) (
  builtins.removeAttrs (builtins.fromJSON (builtins.readFile ./data/index/all.json)) (
    builtins.fromJSON (builtins.readFile (./data/index/absent + "/${builtins.currentSystem}.json"))
  )
)
`

func allLayouts() []layout {
	return []layout{
		{
			name: "original",
			write: func(dir string, raw []cachix.Pin, _ string) ([]bundle.File, error) {
				return writeFiles(dir, pinset.OriginalFiles(raw))
			},
			// The original splits on every dot; the forced names have none.
			attr: func(name string) string { return name },
		},
		{
			name: "bundle",
			write: func(dir string, raw []cachix.Pin, _ string) ([]bundle.File, error) {
				b, err := renderBundle(raw)
				if err != nil {
					return nil, err
				}
				return b.Files, b.WriteDir(dir)
			},
			attr: bundle.NixString,
		},
		{
			name:    "perpin",
			perName: true,
			write: func(dir string, raw []cachix.Pin, real string) ([]bundle.File, error) {
				set, err := pins.Build(raw, pins.Options{})
				if err != nil {
					return nil, err
				}
				ones, err := bundle.RenderOnes(set, benchMeta)
				if err != nil {
					return nil, err
				}
				var files []bundle.File
				for _, o := range ones {
					// The forced names: those whose pin is the real path.
					if real == "" || !slices.ContainsFunc(set.Pins, func(p pins.Pin) bool { return p.Name == o.Name && p.StorePath == real }) {
						continue
					}
					if err := o.Bundle.WriteDir(filepath.Join(dir, o.Segment)); err != nil {
						return nil, err
					}
					files = append(files, o.Bundle.Files...)
				}
				return files, nil
			},
		},
		{
			name: "floor",
			write: func(dir string, raw []cachix.Pin, real string) ([]bundle.File, error) {
				b, err := renderBundle(raw)
				if err != nil {
					return nil, err
				}
				files := map[string][]byte{"default.nix": fmt.Appendf(nil, floorDefault, bundle.NixString(real))}
				for _, f := range b.Files {
					if strings.HasPrefix(f.Path, "data/index/") {
						files[f.Path] = f.Data
					}
				}
				return writeFiles(dir, files)
			},
			attr: bundle.NixString,
		},
	}
}

func layoutNames() []string {
	var out []string
	for _, l := range allLayouts() {
		out = append(out, l.name)
	}
	return out
}

func findLayout(name string) (layout, bool) {
	for _, l := range allLayouts() {
		if l.name == name {
			return l, true
		}
	}
	return layout{}, false
}

func renderBundle(raw []cachix.Pin) (*bundle.Bundle, error) {
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		return nil, err
	}
	return bundle.Render(set, benchMeta)
}

var benchMeta = bundle.Meta{Cache: "bench", Substituter: "https://bench.cachix.org"}

func writeFiles(dir string, files map[string][]byte) ([]bundle.File, error) {
	var out []bundle.File
	for p, data := range files {
		out = append(out, bundle.File{Path: p, Data: data, Mode: 0o644})
	}
	slices.SortFunc(out, func(a, b bundle.File) int { return strings.Compare(a.Path, b.Path) })
	return out, (&bundle.Bundle{Files: out}).WriteDir(dir)
}
