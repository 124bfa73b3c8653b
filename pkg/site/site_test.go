package site

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

var testMeta = bundle.Meta{Cache: "c", Substituter: "https://c.cachix.org"}

// testSet is pins a, b, … at paths.
func testSet(t *testing.T, paths ...string) *pins.Set {
	t.Helper()
	var raw []cachix.Pin
	for i, p := range paths {
		raw = append(raw, cachix.Pin{Name: string(rune('a' + i)), LastRevision: cachix.Revision{StorePath: p}})
	}
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func render(t *testing.T, paths ...string) (*bundle.Bundle, ManifestData) {
	t.Helper()
	set, meta := testSet(t, paths...), testMeta
	b, err := bundle.Render(set, meta)
	if err != nil {
		t.Fatal(err)
	}
	return b, NewManifest(set, meta)
}

const storePath = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-x"

func TestWriteReplacesOnlyItsOwnEntries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "CNAME"), []byte("pins.example.org"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, m := render(t, storePath)
	if _, err := Write(dir, b, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	// A second publish with other pins replaces the bundle whole.
	b2, m2 := render(t, storePath, storePath)
	n, err := Write(dir, b2, m2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(b2.Files)+3 {
		t.Errorf("Write reported %d files, want %d", n, len(b2.Files)+3)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "CNAME")); err != nil || string(data) != "pins.example.org" {
		t.Errorf("a file that is not the site's was changed: %q, %v", data, err)
	}
	var got ManifestData
	data, _ := os.ReadFile(filepath.Join(dir, Manifest))
	if err := json.Unmarshal(data, &got); err != nil || len(got.Pins) != 2 {
		t.Errorf("pins.json = %s (%v), want 2 pins", data, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
	a, _ := os.ReadFile(filepath.Join(dir, Tarball))
	gz, _ := os.ReadFile(filepath.Join(dir, TarballGz))
	if len(a) == 0 || string(a) != string(gz) {
		t.Error("pins and pins.tar.gz differ")
	}
}

func TestWriteKeepsAForeignBundleFolder(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, BundleDir, "notes.txt")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, m := render(t, storePath)
	_, err := Write(dir, b, m, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not written by create-pin-refs") {
		t.Fatalf("Write = %v, want a refusal", err)
	}
	if data, err := os.ReadFile(mine); err != nil || string(data) != "mine" {
		t.Errorf("the foreign folder was changed: %q, %v", data, err)
	}
}

// TestReadmeListsAtMostMaxNames: the README of a big cache lists the first
// ReadmeMaxNames names and says how many it leaves out.
func TestReadmeListsAtMostMaxNames(t *testing.T) {
	m := testManifest()
	m.Pins = nil
	for i := range ReadmeMaxNames + 7 {
		m.Pins = append(m.Pins, pins.Pin{PinName: fmt.Sprintf("tool-%03d", i), Name: fmt.Sprintf("tool-%03d", i),
			StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-tool", Program: "bin/tool"})
	}
	readme := string(RenderReadme(m, IndexView{URL: "https://o.github.io/r/pins"}))
	if got := strings.Count(readme, "\n# pin "); got != ReadmeMaxNames {
		t.Errorf("README lists %d names, want %d", got, ReadmeMaxNames)
	}
	if !strings.Contains(readme, "And 7 more names, not listed here") {
		t.Errorf("README does not count the names it leaves out:\n%s", readme[len(readme)-300:])
	}
	if want := fmt.Sprintf("# pin \"tool-%03d\"", ReadmeMaxNames-1); !strings.Contains(readme, want) || strings.Contains(readme, fmt.Sprintf("tool-%03d\"", ReadmeMaxNames)) {
		t.Errorf("README does not list exactly the first %d names", ReadmeMaxNames)
	}
}

func renderOnes(t *testing.T, paths ...string) bundle.OneList {
	t.Helper()
	ones, err := bundle.RenderOnes(testSet(t, paths...), testMeta)
	if err != nil {
		t.Fatal(err)
	}
	return ones
}

// TestReadmeNamesTheTarballOldNixTakes: a site's tarball, URL/pins, is a flake
// for Nix 2.18 and later only; the README gives URL/pins.tar.gz for the older.
// A branch's archive ends in .tar.gz already.
func TestReadmeNamesTheTarballOldNixTakes(t *testing.T) {
	m := testManifest()
	site := string(RenderReadme(m, IndexView{URL: "https://o.github.io/r/pins"}))
	if want := "`https://o.github.io/r/pins.tar.gz#NAME` where the commands below say `https://o.github.io/r/pins#NAME`"; !strings.Contains(site, want) {
		t.Errorf("README lacks %q", want)
	}
	branch := string(RenderReadme(m, IndexView{URL: "https://github.com/o/r/archive/refs/heads/pins.tar.gz", FlakeRef: "github:o/r/pins"}))
	if strings.Contains(branch, "Nix before 2.18") {
		t.Error("a branch's README sends users to another tarball")
	}
	if got := FlakeTarballURL("github:o/r/pins"); got != "github:o/r/pins" {
		t.Errorf("FlakeTarballURL(github:o/r/pins) = %q", got)
	}
}

// TestReadmeSaysWhenTheCacheIsPrivate: a private cache's consumers need a
// token in a netrc file; a public cache's README does not mention one.
func TestReadmeSaysWhenTheCacheIsPrivate(t *testing.T) {
	m := testManifest()
	for _, private := range []bool{false, true} {
		m.Private = private
		readme := string(RenderReadme(m, IndexView{URL: "https://o.github.io/r/pins"}))
		if got := strings.Contains(readme, "The cache is private") && strings.Contains(readme, "`machine HOST password TOKEN`"); got != private {
			t.Errorf("private %v: the README says so: %v", private, got)
		}
	}
}

// TestWriteRemovesStaleStaging: a staging folder left by a killed run is
// removed by the next write, and reported, so that no later artifact packs
// it; one younger than staleAfter may be another run's and stays, and
// folders of the user's that share the prefix, however old, are left alone.
func TestWriteRemovesStaleStaging(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".staging-111")
	recent := filepath.Join(dir, ".staging-222")
	mine := []string{
		filepath.Join(dir, ".staging-notes", "my.txt"),   // not MkdirTemp's name
		filepath.Join(dir, ".staging-333", "my.txt"),     // a file beside new/ and old/
		filepath.Join(dir, ".staging-555", "other", "y"), // a folder that is not new/ or old/
	}
	for _, d := range []string{stale, recent} {
		if err := os.MkdirAll(filepath.Join(d, "old", BundleDir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".staging-333", "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleAfter)
	for _, f := range mine {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range append([]string{stale}, filepath.Join(dir, ".staging-notes"), filepath.Join(dir, ".staging-333"), filepath.Join(dir, ".staging-555")) {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}
	b, m := render(t, storePath)
	out, err := WriteSite(dir, Input{Bundle: b, Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Stale) != 1 || out.Stale[0] != ".staging-111" {
		t.Errorf("Stale = %q, want the stale folder alone", out.Stale)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stale staging folder: %v, want it gone", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("a recent staging folder was removed: %v", err)
	}
	for _, f := range mine {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("a file of the user's was removed: %v", err)
		}
	}
}
