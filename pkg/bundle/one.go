package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/kwbauson/create-pin-refs/nixtemplates"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// OneDir is the folder of the one-name bundles in a site (p/SEGMENT and
// p/SEGMENT.tar.gz) and in a branch (p/SEGMENT/).
const OneDir = "p"

// maxSegment keeps a segment, with ".tar.gz", well under the 255 bytes a file
// name may have.
const maxSegment = 200

// One is the bundle of one name: `nix run URL/p/SEGMENT` evaluates its pin
// alone, at the same cost whatever the number of pins.
type One struct {
	Name    string
	Segment string
	Bundle  *Bundle
}

// Segment is the file name that stands for name under OneDir: the name
// itself when it holds only [A-Za-z0-9._-] and starts with none of ".", and
// otherwise each other byte written ~XX (hex), so that a URL, a file system, a
// git tree and a flake's ?dir= take it as it is. A name ending in ".tar.gz"
// has that dot escaped too, so that no segment is another's ".tar.gz" file;
// a segment longer than 200 bytes is cut and ends in "~~" and a hash of the name.
func Segment(name string) string {
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		plain := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' ||
			c == '.' && i > 0 && name[i:] != ".tar.gz"
		if plain {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('~')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	s := sb.String()
	if len(s) <= maxSegment {
		return s
	}
	cut := maxSegment - 20
	// Never cut inside an escape: "~" and its two digits stay together.
	if i := strings.LastIndexByte(s[:cut], '~'); i >= cut-2 {
		cut = i
	}
	sum := sha256.Sum256([]byte(name))
	return s[:cut] + "~~" + hex.EncodeToString(sum[:])[:16]
}

// RenderOnes renders the bundle of each name of set, in name order: the
// one-name flake.nix and default.nix, the shared pin.nix (the code lib.nix
// uses) and pin.json, the name's pins. The Nix files are stripped of comments
// and indentation, which are a third of a tarball's bytes, and are the same
// bytes for every name.
func RenderOnes(set *pins.Set, meta Meta) ([]One, error) {
	if err := meta.validate(); err != nil {
		return nil, err
	}
	shared := map[string][]byte{}
	for path, src := range map[string]string{"default.nix": "one/default.nix", "pin.nix": "pin.nix"} {
		data, err := nixtemplates.FS.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("reading template %s: %w", src, err)
		}
		shared[path] = stripNix(data)
	}
	desc := "One pin"
	flake, err := renderFlake("one/flake.nix.tmpl", meta, desc)
	if err != nil {
		return nil, err
	}
	shared["flake.nix"] = stripNix(flake)

	var ones []One
	var enc jsonWriter
	for i := 0; i < len(set.Pins); {
		j := i + 1
		for j < len(set.Pins) && set.Pins[j].Name == set.Pins[i].Name {
			j++
		}
		name, group := set.Pins[i].Name, set.Pins[i:j]
		i = j
		var systems []string
		size := len(name) + len(meta.Cache) + len(meta.Substituter) + 80
		for _, p := range group {
			size += len(p.System) + len(p.StorePath) + len(p.Program) + 80
			if p.System == "" {
				systems = append(systems, defaultFlakeSystems...)
			} else {
				systems = append(systems, p.System)
			}
		}
		slices.Sort(systems)
		enc.reset(size)
		enc.bytes(`{"name":`)
		enc.string(name)
		if meta.Cache != "" {
			enc.bytes(`,"cache":`)
			enc.string(meta.Cache)
		}
		enc.bytes(`,"substituter":`)
		enc.string(meta.Substituter)
		enc.bytes(`,"systems":`)
		enc.value(slices.Compact(systems))
		enc.bytes(`,"pins":{`)
		for k, p := range group { // by system, "" (any) first
			if k > 0 {
				enc.byte(',')
			}
			sys := p.System
			if sys == "" {
				sys = anySystem
			}
			enc.string(sys)
			enc.byte(':')
			enc.value(newEntry(p))
		}
		enc.bytes("}}\n")
		b := &Bundle{Files: []File{
			{Path: "default.nix", Data: shared["default.nix"], Mode: 0o644},
			{Path: "flake.nix", Data: shared["flake.nix"], Mode: 0o644},
			{Path: "pin.json", Data: enc.take(), Mode: 0o644},
			{Path: "pin.nix", Data: shared["pin.nix"], Mode: 0o644},
		}}
		ones = append(ones, One{Name: name, Segment: Segment(name), Bundle: b})
	}
	return ones, nil
}

// stripNix drops comment lines, blank lines and indentation from Nix code
// that holds no multi-line string, leaving what Nix reads unchanged.
func stripNix(src []byte) []byte {
	out := make([]byte, 0, len(src)/2)
	for line := range bytes.Lines(src) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		out = append(append(out, t...), '\n')
	}
	return out
}
