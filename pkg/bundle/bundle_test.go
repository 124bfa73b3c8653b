package bundle

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/gzip"
	"github.com/kwbauson/create-pin-refs/nixtemplates"
	"github.com/kwbauson/create-pin-refs/pkg/nar"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var testMeta = Meta{
	Cache:       "example",
	Substituter: "https://example.cachix.org",
	PublicKeys:  []string{"example.cachix.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="},
}

func loadSet(t testing.TB, file string) *pins.Set {
	t.Helper()
	raw, err := cachix.ReadPinsFile(file)
	if err != nil {
		t.Fatal(err)
	}
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestGolden compares every rendered file but the static templates (checked by
// TestStaticTemplates) with testdata/golden/SCENARIO/; run
// `go test ./pkg/bundle -update` after an intended change and review the diff.
func TestGolden(t *testing.T) {
	scenarios := map[string]string{
		"example": "../../examples/pins.json",
		"hostile": "testdata/hostile-pins.json",
	}
	for name, file := range scenarios {
		t.Run(name, func(t *testing.T) {
			b, err := Render(loadSet(t, file), testMeta)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "golden", name)
			rendered := &Bundle{}
			for _, f := range b.Files {
				if !staticTemplates[f.Path] {
					rendered.Files = append(rendered.Files, f)
				}
			}
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := rendered.WriteDir(dir); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]string{}
			for _, f := range rendered.Files {
				got[f.Path] = string(f.Data)
			}
			want := map[string]string{}
			err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				want[filepath.ToSlash(rel)] = string(data)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("bundle differs from %s (-want +got; run with -update if intended):\n%s", dir, diff)
			}
		})
	}
}

var staticTemplates = map[string]bool{"default.nix": true, "lib.nix": true, "pin.nix": true}

func TestStaticTemplates(t *testing.T) {
	b, err := Render(loadSet(t, "../../examples/pins.json"), testMeta)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range b.Files {
		if !staticTemplates[f.Path] {
			continue
		}
		found++
		want, err := nixtemplates.FS.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, f.Data) || f.Mode != 0o644 {
			t.Errorf("%s differs from its template or has mode %v", f.Path, f.Mode)
		}
	}
	if found != len(staticTemplates) {
		t.Errorf("found %d of the %d static templates", found, len(staticTemplates))
	}
}

func TestRenderDeterministic(t *testing.T) {
	set := loadSet(t, "../../examples/pins.json")
	var tarballs [][]byte
	for range 2 {
		b, err := Render(set, testMeta)
		if err != nil {
			t.Fatal(err)
		}
		tgz, err := b.Tarball()
		if err != nil {
			t.Fatal(err)
		}
		tarballs = append(tarballs, tgz)
	}
	if !bytes.Equal(tarballs[0], tarballs[1]) {
		t.Error("two renders of the same pins give different tarballs")
	}
}

func TestShardsAndIndexes(t *testing.T) {
	var raw []cachix.Pin
	for i := range 250 {
		name := strings.Repeat("p", 1+i%3) + string(rune('a'+i%26)) + "-" + string(rune('0'+i/26%10)) + string(rune('0'+i%10)) + string(rune('a'+i/10%26))
		raw = append(raw, cachix.Pin{Name: name + ".x86_64-linux", LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-p"}})
	}
	raw = append(raw, cachix.Pin{Name: "anywhere", LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-p"}})
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(set, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range b.Files {
		paths = append(paths, f.Path)
	}
	for _, want := range []string{"data/shards/0.json", "data/shards/1.json", "data/shards/2.json", "data/index/all.json", "data/index/absent/x86_64-linux.json", "data/index/any.json"} {
		if !contains(paths, want) {
			t.Errorf("bundle lacks %s; has %v", want, paths)
		}
	}
	if contains(paths, "data/shards/3.json") {
		t.Errorf("251 names need 3 shards of %d; got %v", ShardSize, paths)
	}
	for _, f := range b.Files {
		if f.Path == "data/index/any.json" && string(f.Data) != `{"anywhere":0}`+"\n" {
			t.Errorf("any.json = %s", f.Data)
		}
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func TestRenderRejectsBadMeta(t *testing.T) {
	set := loadSet(t, "../../examples/pins.json")
	for _, m := range []Meta{
		{Substituter: ""},
		{Substituter: "ftp://example.org"},
		{Substituter: "https://example.org/?priority=10"},
		{Substituter: "https://example.org", PublicKeys: []string{"no-colon"}},
		{Substituter: "https://example.org", PublicKeys: []string{"a:b\nc"}},
	} {
		if _, err := Render(set, m); err == nil {
			t.Errorf("Render with %+v succeeded, want an error", m)
		}
	}
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestNarHashOfTarball checks that NarHash describes what the tarball unpacks
// to: the files under its one top-level folder, with their executable bits.
func TestNarHashOfTarball(t *testing.T) {
	b, err := Render(loadSet(t, "../../examples/pins.json"), testMeta)
	if err != nil {
		t.Fatal(err)
	}
	b.Files = append(b.Files, File{Path: "bin/tool", Data: []byte("#!/bin/sh\n"), Mode: 0o755})
	tgz, err := b.Tarball()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	var files []nar.File
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		rel, ok := strings.CutPrefix(h.Name, TopDir+"/")
		if !ok {
			t.Fatalf("member %q outside %s/", h.Name, TopDir)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, nar.File{Path: rel, Data: data, Executable: h.Mode&0o100 != 0})
	}
	want, err := nar.Hash(files)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.NarHash()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("NarHash = %s, but the tarball unpacks to %s", got, want)
	}
	b.Files[len(b.Files)-1].Mode = 0o644
	if other, _ := b.NarHash(); other == got {
		t.Error("NarHash ignores the executable bit")
	}
}

// Verified pins tell lib.nix how to realise them: "ca" for a content-addressed
// path, "closure": "split" whenever fetchClosure cannot fetch the closure.
func TestEntriesCarryClosureFacts(t *testing.T) {
	const p = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-p"
	set := &pins.Set{Pins: []pins.Pin{
		{Name: "added", StorePath: p, CA: "fixed:r:sha256:x", Closure: "complete"},
		{Name: "complete", StorePath: p, Closure: "complete"},
		{Name: "incomplete", StorePath: p, Closure: "incomplete"},
		{Name: "split", StorePath: p, Closure: "split"},
		{Name: "unverified", StorePath: p},
	}}
	b, err := Render(set, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"added":{"*":{"path":"` + p + `","ca":true}},"complete":{"*":{"path":"` + p + `"}},` +
		`"incomplete":{"*":{"path":"` + p + `","closure":"split"}},"split":{"*":{"path":"` + p + `","closure":"split"}},` +
		`"unverified":{"*":{"path":"` + p + `"}}}` + "\n"
	for _, f := range b.Files {
		if f.Path == "data/shards/0.json" && string(f.Data) != want {
			t.Errorf("shard:\n%s\nwant:\n%s", f.Data, want)
		}
	}
}

// TestBigBundlesHoldAtMostMaxShards renders more names than MaxShards shards
// of ShardSize hold: there are MaxShards shards, every name in exactly one, at
// the shard its index gives.
func TestBigBundlesHoldAtMostMaxShards(t *testing.T) {
	for _, tc := range []struct{ names, perShard int }{{0, ShardSize}, {ShardSize * MaxShards, ShardSize}, {ShardSize*MaxShards + 1, ShardSize + 1}, {75000, 586}} {
		if got := NamesPerShard(tc.names); got != tc.perShard {
			t.Errorf("NamesPerShard(%d) = %d, want %d", tc.names, got, tc.perShard)
		}
	}
	n := ShardSize*MaxShards + 50
	raw := make([]cachix.Pin, n)
	for i := range raw {
		raw[i] = cachix.Pin{Name: fmt.Sprintf("tool-%05d.x86_64-linux", i), LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-p"}}
	}
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(set, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	shards := map[string]map[string]json.RawMessage{}
	var index map[string]int
	for _, f := range b.Files {
		if rest, ok := strings.CutPrefix(f.Path, "data/shards/"); ok {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(f.Data, &m); err != nil {
				t.Fatal(err)
			}
			shards[strings.TrimSuffix(rest, ".json")] = m
		}
	}
	if index, err = b.Index("x86_64-linux"); err != nil {
		t.Fatal(err)
	}
	if len(shards) != MaxShards {
		t.Errorf("%d names in %d shards, want %d", n, len(shards), MaxShards)
	}
	if len(index) != n {
		t.Fatalf("index lists %d names, want %d", len(index), n)
	}
	seen := 0
	for name, shard := range index {
		if _, ok := shards[strconv.Itoa(shard)][name]; !ok {
			t.Fatalf("%s is not in shard %d, where the index says", name, shard)
		}
	}
	for _, m := range shards {
		seen += len(m)
	}
	if seen != n {
		t.Errorf("shards hold %d names, want %d", seen, n)
	}
}

// TestIndexPerSystem renders names pinned on some systems, all or none: each
// system offers its own names and the system-less ones, a system the bundle
// does not know only the system-less ones, and every name is listed once.
func TestIndexPerSystem(t *testing.T) {
	const sp = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-p"
	var raw []cachix.Pin
	for _, n := range []string{"a.x86_64-linux", "a.aarch64-darwin", "b.x86_64-linux", "c", "c.x86_64-linux", "d.aarch64-darwin", "e.aarch64-darwin", "e.x86_64-linux"} {
		raw = append(raw, cachix.Pin{Name: n, LastRevision: cachix.Revision{StorePath: sp}})
	}
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(set, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	for system, want := range map[string][]string{
		"x86_64-linux":   {"a", "b", "c", "e"},
		"aarch64-darwin": {"a", "c", "d", "e"},
		"riscv64-linux":  {"c"},
	} {
		index, err := b.Index(system)
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Sorted(maps.Keys(index))
		if !slices.Equal(got, want) {
			t.Errorf("%s offers %v, want %v", system, got, want)
		}
	}
	for _, f := range b.Files {
		want, ok := map[string]string{
			"data/index/all.json":                   `{"a":0,"b":0,"c":0,"d":0,"e":0}`,
			"data/index/any.json":                   `{"c":0}`,
			"data/index/absent/x86_64-linux.json":   `["d"]`,
			"data/index/absent/aarch64-darwin.json": `["b"]`,
		}[f.Path]
		if ok && string(f.Data) != want+"\n" {
			t.Errorf("%s = %s, want %s", f.Path, f.Data, want)
		}
	}
}
