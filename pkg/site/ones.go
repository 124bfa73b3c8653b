package site

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
)

// OnesDir holds the one-name bundles: OnesDir/SEGMENT and the same bytes as
// OnesDir/SEGMENT.tar.gz (see bundle.Segment). The folder is create-pin-refs'
// own: each publish replaces what it holds (leaving the files that hold their
// bytes already), or removes it when it builds none.
const OnesDir = bundle.OneDir

// ArtifactBudget is the size of the Pages artifact up to which --per-pin-urls
// auto adds the one-name bundles. Every file costs a 512-byte tar header and
// its data rounded up to 512 bytes, so two small tarballs per name cost about
// 5 KiB: 10,000 names fit, 75,000 (100,000 pins) do not.
const ArtifactBudget = 64 << 20

// OneSource gives the one-name bundles, each rendered when asked for
// (bundle.Ones, or bundle.OneList rendered in advance).
type OneSource interface {
	Len() int
	One(i int) bundle.One
}

// PerPin says which one-name bundles a site serves.
type PerPin struct {
	Ones OneSource // nil: none
	// Auto leaves them all out when the artifact would exceed Budget.
	Auto   bool
	Budget int64
}

// PerPinResult tells what Write did with the one-name bundles.
type PerPinResult struct {
	Built bool
	Names int
	// Bytes is what OnesDir adds to the Pages artifact, Artifact the size of
	// the artifact of the site's own entries without it.
	Bytes, Artifact int64
}

// tarCost is what a file of size bytes costs in a tar: its header and its data
// padded to 512 bytes.
func tarCost(size int) int64 { return 512 + int64(size+511)/512*512 }

// packOnes packs each one-name bundle into its two files, on every core, and
// returns them with what they cost in the artifact. Past limit (when not 0)
// it stops and returns no files, and the cost of them all as estimated from
// those packed.
func packOnes(ones OneSource, limit int64) ([]bundle.File, int64, error) {
	if ones == nil || ones.Len() == 0 {
		return nil, 0, nil
	}
	n := ones.Len()
	first := ones.One(0)
	files := make([]bundle.File, 2*n)
	errs := make([]error, n)
	var total, packed atomic.Int64
	total.Store(512) // OnesDir itself
	var wg sync.WaitGroup
	workers := max(1, runtime.GOMAXPROCS(0))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := bundle.NewOnesPacker(first.Bundle)
			for i := w; i < n && (limit == 0 || total.Load() <= limit); i += workers {
				one := ones.One(i)
				var tgz []byte
				if err == nil {
					tgz, err = p.Pack(one.Bundle)
				}
				if err != nil {
					errs[i] = fmt.Errorf("packing the bundle of %q: %w", one.Name, err)
					continue
				}
				// Sorted by path: "NAME" sorts before "NAME.tar.gz".
				files[2*i] = bundle.File{Path: one.Segment, Data: tgz, Mode: 0o644}
				files[2*i+1] = bundle.File{Path: one.Segment + ".tar.gz", Data: tgz, Mode: 0o644}
				total.Add(2 * tarCost(len(tgz)))
				packed.Add(1)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, 0, err
		}
	}
	if k := packed.Load(); k < int64(n) {
		return nil, 512 + (total.Load()-512)*int64(n)/max(k, 1), nil
	}
	return files, total.Load(), nil
}

// filesCost is what files cost in the artifact, with their folders.
func filesCost(files []bundle.File) int64 {
	var n int64 = 512 // the folder itself
	dirs := map[string]bool{}
	for _, f := range files {
		n += tarCost(len(f.Data))
		for d := parentDir(f.Path); d != "" && !dirs[d]; d = parentDir(d) {
			dirs[d] = true
			n += 512
		}
	}
	return n
}

func parentDir(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return ""
}

// PerPinURL is the base of the one-name bundles' URLs for a site whose pins
// tarball is tarballURL (URL/pins): URL/p/, or "" when that is not a site's.
func PerPinURL(tarballURL string) string {
	base, ok := SiteBase(tarballURL)
	if !ok {
		return ""
	}
	return base + OnesDir + "/"
}

// OneCommands are the commands of the one-name bundle of name, whose URL is
// base (URL/p/ or a flake reference ending in dir=p/) and its segment: they
// evaluate that name alone, at the same cost at any pin count.
func OneCommands(base, name string, programs []string) []Command {
	ref := base + bundle.Segment(name)
	var cmds []Command
	add := func(label string, args ...string) { cmds = append(cmds, command(label, args...)) }
	if len(programs) > 0 {
		add("Run this name only", "nix", "run", ref)
	}
	if strings.Contains(base, "dir=") {
		add("Build this name only", "nix", "build", ref)
	} else {
		add("Build this name only", "nix", "build", "-f", ref)
	}
	return cmds
}
