package bundle

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

func TestSegment(t *testing.T) {
	long := strings.Repeat("a", 199) + "/"
	tests := []struct{ name, want string }{
		{"hello", "hello"},
		{"tool.v2", "tool.v2"},
		{"v1.7", "v1.7"},
		{"a_b-C9", "a_b-C9"},
		{"a/b", "a~2Fb"},
		{"..", "~2E."},
		{".git", "~2Egit"},
		{"a b", "a~20b"},
		{"~x", "~7Ex"},
		{"a+b", "a~2Bb"},
		{"é", "~C3~A9"},
		{`a"b`, "a~22b"},
		{"a.tar.gz", "a~2Etar.gz"},
		{"a.tar.gz.x", "a.tar.gz.x"},
		{strings.Repeat("a", 200), strings.Repeat("a", 200)},
	}
	for _, tt := range tests {
		if got := Segment(tt.name); got != tt.want {
			t.Errorf("Segment(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	// Cut at an escape boundary, with a hash: short, distinct, file-name safe.
	a, b := Segment(long), Segment(long+"x")
	if len(a) > maxSegment || len(b) > maxSegment || a == b || !strings.Contains(a, "~~") {
		t.Errorf("long names: %q and %q, want distinct segments of at most %d bytes ending in ~~HASH", a, b, maxSegment)
	}
	if got := Segment(strings.Repeat("/", 100)); strings.Contains(got, "/") || len(got) > maxSegment || strings.Count(got[:strings.Index(got, "~~")], "~")*3 != strings.Index(got, "~~") {
		t.Errorf("cut inside an escape: %q", got)
	}
}

func TestRenderOnes(t *testing.T) {
	set := loadSet(t, "../../examples/pins.json")
	ones, err := RenderOnes(set, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, p := range set.Pins {
		if i == 0 || p.Name != set.Pins[i-1].Name {
			names = append(names, p.Name)
		}
	}
	var got []string
	for _, o := range ones {
		got = append(got, o.Name)
		if o.Segment != Segment(o.Name) {
			t.Errorf("%s: segment %q, want %q", o.Name, o.Segment, Segment(o.Name))
		}
		var paths []string
		for _, f := range o.Bundle.Files {
			paths = append(paths, f.Path)
			if f.Path != oneData && !bytes.Equal(f.Data, ones[0].Bundle.Files[len(paths)-1].Data) {
				t.Errorf("%s: %s differs from the first name's; shared files must be the same bytes", o.Name, f.Path)
			}
			if strings.HasSuffix(f.Path, ".nix") && bytes.Contains(f.Data, []byte("\n#")) {
				t.Errorf("%s: %s keeps its comments", o.Name, f.Path)
			}
		}
		if diff := cmp.Diff([]string{"default.nix", "flake.nix", "pin.nix", "pinned.json"}, paths); diff != "" {
			t.Errorf("%s: files (-want +got):\n%s", o.Name, diff)
		}
		// The data reads back: the name and each system's pin.
		var data struct {
			Name    string
			Systems []string
			Pins    map[string]struct{ Path, Program string }
		}
		if err := json.Unmarshal(o.Bundle.Files[3].Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.Name != o.Name {
			t.Errorf("pinned.json of %s names %q", o.Name, data.Name)
		}
		for _, p := range set.Pins {
			sys := p.System
			if sys == "" {
				sys = anySystem
			}
			if p.Name == o.Name && data.Pins[sys].Path != p.StorePath {
				t.Errorf("pinned.json of %s: %s has %q, want %q", o.Name, sys, data.Pins[sys].Path, p.StorePath)
			}
		}
		packer, err := NewOnesPacker(ones[0].Bundle)
		if err != nil {
			t.Fatal(err)
		}
		tgz, err := packer.Pack(o.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := packer.Pack(o.Bundle); !bytes.Equal(tgz, again) {
			t.Errorf("%s: tarball differs between two packings", o.Name)
		}
		// Its members read as one stream: the very tar of Tarball.
		whole, err := o.Bundle.Tarball()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := gunzip(t, tgz), gunzip(t, whole); !bytes.Equal(got, want) {
			t.Errorf("%s: the packed tarball holds another tar than Tarball's", o.Name)
		}
		// A regression guard (BENCHMARKS.md has the figures): 1.8 KiB
		// today, of which the shared Nix files are 1.5. Under 2 KiB, a file
		// costs 2.5 KiB of the Pages artifact with its tar header.
		if len(tgz) > 2048 {
			t.Errorf("%s: tarball is %d bytes, want at most 2 KiB", o.Name, len(tgz))
		}
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	again, err := RenderOnes(set, testMeta)
	if err != nil || !cmp.Equal(ones, again) {
		t.Errorf("two renderings differ (%v)", err)
	}
}

// TestOnesEvalRoundTrip evaluates every one-name bundle with a real Nix: its
// default.nix is the name's package on each system (the system's own pin, else
// the system-less one), and its flake offers it as default and by name.
func TestOnesEvalRoundTrip(t *testing.T) {
	for _, file := range []string{"../../examples/pins.json", "testdata/hostile-pins.json"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			set := loadSet(t, file)
			ones, err := RenderOnes(set, testMeta)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				Path     string              `json:"path"`
				Program  string              `json:"program"`
				Type     string              `json:"type"`
				Packages map[string][]string `json:"packages"`
				Apps     map[string][]string `json:"apps"`
				// Here is the name of the bundle's value as `nix build -f`
				// takes it, uncalled: the package of this machine's system.
				Here any `json:"here"`
			}
			type want struct{ name, sys, path, program string }
			var wants []want
			var expr strings.Builder
			expr.WriteString("[")
			for _, o := range ones {
				dir := filepath.Join(t.TempDir(), o.Segment)
				if err := o.Bundle.WriteDir(dir); err != nil {
					t.Fatal(err)
				}
				for _, p := range set.Pins {
					if p.Name != o.Name || p.System == "" && hasSystemPin(set, p.Name, "x86_64-linux") {
						continue
					}
					sys := p.System
					if sys == "" {
						sys = "x86_64-linux"
					}
					wants = append(wants, want{o.Name, sys, p.StorePath, p.Program})
					// storePath = p: p shows the paths without fetching them.
					expr.WriteString(" (let d = import " + NixString(dir+"/default.nix") + " { system = " + NixString(sys) + "; storePath = p: p; }; f = (import " + NixString(dir+"/flake.nix") + ").outputs { self = null; }; names = builtins.mapAttrs (s: builtins.attrNames); in { path = d.outPath; program = d.meta.mainProgram or \"\"; inherit (d) type; packages = names f.packages; apps = names f.apps; here = (builtins.tryEval (import " + NixString(dir) + ").name).value; })")
				}
			}
			expr.WriteString(" ]")
			var got []result
			nixEval(t, expr.String(), &got)
			if len(got) != len(wants) {
				t.Fatalf("got %d results, want %d", len(got), len(wants))
			}
			for i, w := range wants {
				g := got[i]
				if g.Path != w.path || g.Type != "derivation" {
					t.Errorf("%s on %s: %s %q, want a derivation of %q", w.name, w.sys, g.Type, g.Path, w.path)
				}
				if w.program != "" && g.Program != filepath.Base(w.program) {
					t.Errorf("%s on %s: mainProgram %q, want %q", w.name, w.sys, g.Program, filepath.Base(w.program))
				}
				wantAttrs := []string{"default", w.name}
				if w.name == "default" {
					wantAttrs = wantAttrs[:1]
				} else if w.name < "default" {
					wantAttrs = []string{w.name, "default"}
				}
				if diff := cmp.Diff(wantAttrs, g.Packages[w.sys]); diff != "" {
					t.Errorf("%s: packages.%s (-want +got):\n%s", w.name, w.sys, diff)
				}
				if here, ok := g.Here.(string); w.sys == "x86_64-linux" && (!ok || here != filepath.Base(w.path)[33:]) {
					t.Errorf("%s: the uncalled bundle is %v, want the package %s", w.name, g.Here, filepath.Base(w.path)[33:])
				}
				if diff := cmp.Diff(g.Packages, g.Apps); diff != "" {
					t.Errorf("%s: apps and packages differ (-packages +apps):\n%s", w.name, diff)
				}
			}
		})
	}
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOnesTarballWithNix fetches packed one-name tarballs, several gzip
// members each, with a real Nix's fetchTarball (the code that unpacks
// URL/p/NAME) and evaluates them.
func TestOnesTarballWithNix(t *testing.T) {
	set := loadSet(t, "../../examples/pins.json")
	ones, err := RenderOnes(set, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	packer, err := NewOnesPacker(ones[0].Bundle)
	if err != nil {
		t.Fatal(err)
	}
	var expr strings.Builder
	var want []string
	expr.WriteString("[")
	for _, o := range ones {
		tgz, err := packer.Pack(o.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), o.Segment+".tar.gz")
		if err := os.WriteFile(file, tgz, 0o644); err != nil {
			t.Fatal(err)
		}
		sys, path := "x86_64-linux", ""
		for _, p := range set.Pins {
			if p.Name == o.Name && (p.System == sys || p.System == "" && path == "") {
				path = p.StorePath
			}
		}
		if path == "" {
			continue
		}
		want = append(want, path)
		expr.WriteString(" (import (builtins.fetchTarball " + NixString("file://"+file) + ") { system = " + NixString(sys) + "; storePath = p: p; }).outPath")
	}
	expr.WriteString(" ]")
	var got []string
	nixEval(t, expr.String(), &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

func hasSystemPin(set *pins.Set, name, sys string) bool {
	for _, p := range set.Pins {
		if p.Name == name && p.System == sys {
			return true
		}
	}
	return false
}

// TestPackWritesArchiveTarsBytes: Pack's tar blocks of pinned.json, made
// from one header block, are the bytes archive/tar writes, at every size
// around the block boundaries and of another mode.
func TestPackWritesArchiveTarsBytes(t *testing.T) {
	shared := []File{{Path: "default.nix", Data: []byte("x"), Mode: 0o644}, {Path: "flake.nix", Data: []byte("y"), Mode: 0o644}}
	one := func(data []byte, mode fs.FileMode) *Bundle {
		return &Bundle{Files: append(slices.Clone(shared), File{Path: oneData, Data: data, Mode: mode})}
	}
	p, err := NewOnesPacker(one(nil, 0o644))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewOnesPacker(one(nil, 0o644))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for n := range 1100 {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, 4095, 4096, 4097, 100_000)
	for _, mode := range []fs.FileMode{0o644, 0o755} {
		for _, n := range sizes {
			data := bytes.Repeat([]byte(`{"name":"a"}`), n/12+1)[:n]
			got, err := p.Pack(one(data, mode))
			if err != nil {
				t.Fatal(err)
			}
			// archive/tar itself, through the general path.
			own, err := ref.member(false, one(data, mode).Files[len(shared):], true)
			if err != nil {
				t.Fatal(err)
			}
			if want := append(slices.Clone(ref.shared), own...); !bytes.Equal(got, want) {
				t.Fatalf("pinned.json of %d bytes, mode %v: Pack wrote other bytes than archive/tar", n, mode)
			}
		}
	}
}

// BenchmarkPack packs one name's bundle, as a publish does for each name.
func BenchmarkPack(b *testing.B) {
	set, err := pins.Build([]cachix.Pin{{Name: "hello", LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello"}}}, pins.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ones, err := RenderOnes(set, Meta{Cache: "c", Substituter: "https://c.cachix.org"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewOnesPacker(ones[0].Bundle)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Pack(ones[0].Bundle); err != nil {
			b.Fatal(err)
		}
	}
}
