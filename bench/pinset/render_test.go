package pinset

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

func benchMeta() bundle.Meta {
	return bundle.Meta{Cache: "bench", Substituter: "https://bench.cachix.org"}
}

// BenchmarkRender measures what a publish run spends turning the API's pins into
// the tarball: validation and sorting, rendering, and compression.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			raw := Synthetic(n)
			b.ReportAllocs()
			var size int
			for b.Loop() {
				set, err := pins.Build(raw, pins.Options{})
				if err != nil {
					b.Fatal(err)
				}
				bd, err := bundle.Render(set, benchMeta())
				if err != nil {
					b.Fatal(err)
				}
				tgz, err := bd.Tarball()
				if err != nil {
					b.Fatal(err)
				}
				size = len(tgz)
			}
			b.ReportMetric(float64(size), "tgz-bytes")
		})
	}
}

// TestSynthetic checks that the benchmarks' pins are what they claim: all valid,
// the intended mix of systems, and usable by the original format too (no name
// is a dotted prefix of another, which would be a Nix error there).
func TestSynthetic(t *testing.T) {
	const n = 1000
	raw := Synthetic(n)
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Pins) != n || len(set.Skipped) != 0 {
		t.Fatalf("got %d pins and %d skipped, want %d and 0", len(set.Pins), len(set.Skipped), n)
	}
	if got, want := set.Systems(), []string{Darwin, Linux}; !slices.Equal(got, want) {
		t.Errorf("systems %v, want %v", got, want)
	}
	perSystem := map[string]int{}
	names := map[string]bool{}
	for _, p := range set.Pins {
		perSystem[p.System]++
		names[p.Name] = true
	}
	if perSystem[Linux] != n/2 || perSystem[Darwin] != n/4 || perSystem[""] != n/4 || len(names) != 3*n/4 {
		t.Errorf("per system %v and %d names, want %d/%d/%d and %d", perSystem, len(names), n/2, n/4, n/4, 3*n/4)
	}
	if _, err := bundle.Render(set, benchMeta()); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, p := range raw {
		paths[p.Name] = true
	}
	for _, p := range raw {
		parts := strings.Split(p.Name, ".")
		for i := 1; i < len(parts); i++ {
			if prefix := strings.Join(parts[:i], "."); paths[prefix] {
				t.Fatalf("original format: %q is a prefix of %q", prefix, p.Name)
			}
		}
	}
	if !slices.Equal(Synthetic(n)[n-1].LastRevision.Artifacts, raw[n-1].LastRevision.Artifacts) ||
		Synthetic(n)[n/2].LastRevision.StorePath != raw[n/2].LastRevision.StorePath {
		t.Error("Synthetic is not deterministic")
	}
}

// BenchmarkBuild measures pins.Build alone (validation and sorting) on pins in
// the API's order, which is not the set's.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			raw := Synthetic(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pins.Build(raw, pins.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
