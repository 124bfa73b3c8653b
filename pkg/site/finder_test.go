package site

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestRenderFinderGolden compares the names of examples/pins.json with
// testdata/names.json; run `go test ./pkg/site -update` after an intended
// change and review the diff.
func TestRenderFinderGolden(t *testing.T) {
	raw, err := cachix.ReadPinsFile("../../examples/pins.json")
	if err != nil {
		t.Fatal(err)
	}
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := RenderFinder(NewManifest(set, bundle.Meta{Substituter: "https://example.cachix.org"}))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", Finder)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from %s (-want +got; run with -update if intended):\n%s", Finder, golden, diff)
	}
}

// TestRenderFinderMatchesTheBundle: what the page derives from Finder, a
// name's shard (its position / shardSize) and its systems, is what the bundle
// holds, over several shards, hostile names and system-less pins, and past
// bundle.MaxShards, where shards hold more names.
func TestRenderFinderMatchesTheBundle(t *testing.T) {
	for _, tools := range []int{2*bundle.ShardSize + 17, bundle.MaxShards*bundle.ShardSize + 345} {
		t.Run(fmt.Sprint(tools), func(t *testing.T) { checkFinderMatchesTheBundle(t, tools) })
	}
}

func checkFinderMatchesTheBundle(t *testing.T, tools int) {
	var raw []cachix.Pin
	add := func(name, system string, i int) {
		pin := name
		if system != "" {
			pin += "." + system
		}
		raw = append(raw, cachix.Pin{Name: pin, LastRevision: cachix.Revision{StorePath: fmt.Sprintf("/nix/store/%032d-x", i)}})
	}
	for i, n := range hostileNames {
		add(n, []string{"x86_64-linux", "aarch64-darwin", ""}[i%3], i)
	}
	for i := range tools {
		name := fmt.Sprintf("tool-%05d", i)
		for j, system := range []string{"x86_64-linux", "aarch64-darwin", ""} {
			if (i+j)%4 != 0 {
				add(name, system, i)
			}
		}
	}
	set, err := pins.Build(raw, pins.Options{OnInvalid: pins.Skip}) // __curPos is not a Nix name
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Skipped) > 1 {
		t.Fatalf("skipped %v", set.Skipped)
	}
	b, err := bundle.Render(set, bundle.Meta{Substituter: "https://c.cachix.org"})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range b.Files {
		files[f.Path] = f.Data
	}
	out, err := RenderFinder(NewManifest(set, bundle.Meta{}))
	if err != nil {
		t.Fatal(err)
	}
	var d finderData
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	if d.Format != finderFormat || d.ShardSize != bundle.NamesPerShard(len(d.Names)) || len(d.Group) != len(d.Names) {
		t.Fatalf("format %d, shardSize %d (want %d), %d group indexes for %d names", d.Format, d.ShardSize, bundle.NamesPerShard(len(d.Names)), len(d.Group), len(d.Names))
	}
	inIndex := map[string][]string{} // system → names, from the bundle's indexes
	for _, system := range append(set.Systems(), "any") {
		index, err := b.Index(system)
		if err != nil {
			t.Fatalf("index of %s: %v", system, err)
		}
		if system == "any" {
			system = anySystem
		}
		for name := range index {
			inIndex[system] = append(inIndex[system], name)
		}
	}
	systemsOfSet := append(set.Systems(), anySystem)
	fromFinder := map[string][]string{}
	shards := map[string]map[string]map[string]json.RawMessage{}
	for i, name := range d.Names {
		path := fmt.Sprintf("data/shards/%d.json", i/d.ShardSize)
		shard, ok := shards[path]
		if !ok {
			if err := json.Unmarshal(files[path], &shard); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			shards[path] = shard
		}
		entries, ok := shard[name]
		if !ok {
			t.Fatalf("name %d %q is not in %s", i, name, path)
		}
		systems := d.Groups[d.Group[i]]
		var want []string
		for s := range entries {
			want = append(want, s)
		}
		slices.Sort(want)
		if !slices.Equal(systems, want) {
			t.Errorf("%q: systems %q, the shard has %q", name, systems, want)
		}
		// As in the bundle's indexes (and on the page), a system-less pin
		// serves every system.
		for _, s := range systemsOfSet {
			if slices.Contains(systems, s) || slices.Contains(systems, anySystem) {
				fromFinder[s] = append(fromFinder[s], name)
			}
		}
	}
	names := 0
	for i := range set.Pins {
		if i == 0 || set.Pins[i].Name != set.Pins[i-1].Name {
			names++
		}
	}
	if len(d.Names) != names {
		t.Errorf("%d names, the set has %d", len(d.Names), names)
	}
	for s := range inIndex {
		slices.Sort(inIndex[s])
		slices.Sort(fromFinder[s])
	}
	for _, s := range append(set.Systems(), anySystem) {
		if !slices.Equal(inIndex[s], fromFinder[s]) {
			t.Errorf("%s: the bundle's index has %d names, the finder %d, or others", s, len(inIndex[s]), len(fromFinder[s]))
		}
	}
	if len(inIndex) != len(set.Systems())+1 {
		t.Errorf("indexes of %d systems, want %d and any", len(inIndex), len(set.Systems()))
	}
	if len(d.Groups) > 7 {
		t.Errorf("%d groups of systems, want at most the 7 non-empty subsets of 3 systems", len(d.Groups))
	}
}
