// Package bundle renders a pin set into the files of a Nix bundle: static Nix code
// from nixtemplates plus pin data in JSON, laid out so that selecting one pin reads
// one small index and one shard.
package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	"github.com/kwbauson/create-pin-refs/nixtemplates"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// FormatVersion changes when the data layout under data/ changes.
const FormatVersion = 2

// ShardSize is the number of names per shard: small enough that reading one shard
// costs well under a millisecond, large enough to keep the file count low.
const ShardSize = 100

// MaxShards bounds the file count of big bundles, whose shards then hold more
// names: at 100,000 pins a shard of 600 names costs Nix about a millisecond,
// while each file costs the producer and every copy of the site.
const MaxShards = 128

// NamesPerShard is ShardSize, or more for bundles that would need more than
// MaxShards shards: names[i] is in shard i / NamesPerShard(len(names)).
func NamesPerShard(names int) int {
	return max(ShardSize, (names+MaxShards-1)/MaxShards)
}

// anySystem is the key of system-less pins in shards; it cannot be a system.
const anySystem = "*"

// defaultFlakeSystems get the system-less pins in flake outputs, beside every
// system that has pins of its own.
var defaultFlakeSystems = []string{"aarch64-darwin", "aarch64-linux", "x86_64-darwin", "x86_64-linux"}

// Meta describes where the pinned paths come from.
type Meta struct {
	// Cache is the Cachix cache name, for descriptions.
	Cache string
	// Substituter is the binary cache URL (https://NAME.cachix.org).
	Substituter string
	// PublicKeys are the cache's signing keys ("NAME.cachix.org-1:…").
	PublicKeys []string
	// Private: reading the cache needs a token (Cachix's isPublic false).
	Private bool
}

// File is one file of a bundle, with a slash-separated path relative to its root.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
}

// Bundle is the rendered bundle, files sorted by path.
type Bundle struct {
	Files []File
}

// Render builds the bundle for set. It fails rather than render anything a
// consumer could not evaluate.
func Render(set *pins.Set, meta Meta) (*Bundle, error) {
	if err := meta.validate(); err != nil {
		return nil, err
	}
	r := &renderer{}
	for _, name := range []string{"default.nix", "lib.nix", "pin.nix"} {
		data, err := nixtemplates.FS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading template %s: %w", name, err)
		}
		r.add(name, data)
	}
	systems := set.Systems()
	flake, err := renderFlake("flake.nix.tmpl", meta, "Pinned store paths")
	if err != nil {
		return nil, err
	}
	r.add("flake.nix", flake)

	// Names in order, each shard holding every system's entry for its names.
	// set.Pins is sorted by name then system, so a name's pins are adjacent and
	// its systems in order: no map is needed, and the JSON is appended to buffers
	// sized up front rather than grown step by step.
	type named struct {
		name       string
		pins       []pins.Pin // this name's pins, one per system
		shard      int
		any        bool     // it has a system-less pin
		systemsSet []string // the systems of its system-specific pins
	}
	nNames := 0
	for i := range set.Pins {
		if i == 0 || set.Pins[i].Name != set.Pins[i-1].Name {
			nNames++
		}
	}
	perShard := NamesPerShard(nNames)
	names := make([]named, 0, nNames)
	hasAny := false
	for i := 0; i < len(set.Pins); {
		j := i + 1
		for j < len(set.Pins) && set.Pins[j].Name == set.Pins[i].Name {
			j++
		}
		n := named{name: set.Pins[i].Name, pins: set.Pins[i:j], shard: len(names) / perShard}
		for _, p := range n.pins {
			if p.System == "" {
				n.any, hasAny = true, true
			} else {
				n.systemsSet = append(n.systemsSet, p.System)
			}
		}
		names = append(names, n)
		i = j
	}
	nShards := (len(names) + perShard - 1) / perShard
	var enc jsonWriter
	for i := 0; i < nShards; i++ {
		chunk := names[i*perShard : min((i+1)*perShard, len(names))]
		size := 3
		for _, n := range chunk {
			size += len(n.name) + 8
			for _, p := range n.pins {
				size += len(p.System) + len(p.StorePath) + len(p.Program) + 40
			}
		}
		enc.reset(size)
		enc.byte('{')
		for j, n := range chunk {
			if j > 0 {
				enc.byte(',')
			}
			enc.string(n.name)
			enc.byte(':')
			enc.systems(n.pins)
		}
		enc.bytes("}\n")
		r.add("data/shards/"+strconv.Itoa(i)+".json", enc.take())
	}

	// One index of every name, and per system the names it lacks: a cache
	// that pins the same names on four systems lists them once, not four
	// times. any.json serves systems the bundle does not know.
	size := 3
	for _, n := range names {
		size += len(n.name) + 8
	}
	// list writes the names keep selects: {name: shard, …}, or [name, …].
	list := func(keep func(named) bool, shards bool) []byte {
		enc.reset(size)
		open, end := "[", "]\n"
		if shards {
			open, end = "{", "}\n"
		}
		enc.bytes(open)
		first := true
		for _, n := range names {
			if !keep(n) {
				continue
			}
			if !first {
				enc.byte(',')
			}
			first = false
			enc.string(n.name)
			if shards {
				enc.byte(':')
				enc.int(n.shard)
			}
		}
		enc.bytes(end)
		return enc.take()
	}
	r.add("data/index/all.json", list(func(named) bool { return true }, true))
	r.add("data/index/any.json", list(func(n named) bool { return n.any }, true))
	for _, sys := range systems {
		absent := func(n named) bool { return !n.any && !slices.Contains(n.systemsSet, sys) }
		r.add("data/index/absent/"+sys+".json", list(absent, false))
	}

	flakeSystems := slices.Clone(systems)
	if hasAny {
		flakeSystems = append(flakeSystems, defaultFlakeSystems...)
		slices.Sort(flakeSystems)
		flakeSystems = slices.Compact(flakeSystems)
	}
	var m bytes.Buffer
	writeJSON(&m, struct {
		Format       int      `json:"format"`
		Cache        string   `json:"cache,omitempty"`
		Substituter  string   `json:"substituter"`
		Systems      []string `json:"systems"`
		FlakeSystems []string `json:"flakeSystems"`
		Shards       int      `json:"shards"`
	}{FormatVersion, meta.Cache, meta.Substituter, nonNil(systems), nonNil(flakeSystems), nShards})
	m.WriteByte('\n')
	r.add("data/meta.json", m.Bytes())

	slices.SortFunc(r.files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return &Bundle{Files: r.files}, nil
}

type renderer struct{ files []File }

func (r *renderer) add(path string, data []byte) {
	r.files = append(r.files, File{Path: path, Data: data, Mode: 0o644})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeJSON encodes v without HTML escaping; v is always encodable.
func writeJSON(buf *bytes.Buffer, v any) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("bundle: encoding %T: %v", v, err))
	}
	buf.Truncate(buf.Len() - 1) // Encode appends a newline
}

// renderFlake renders the flake template tmpl (nixconfig.tmpl holds the
// nixConfig both flakes share) for meta, describing it as desc.
func renderFlake(tmpl string, meta Meta, desc string) ([]byte, error) {
	t, err := template.New(path.Base(tmpl)).Funcs(template.FuncMap{"nix": NixString}).ParseFS(nixtemplates.FS, tmpl, "nixconfig.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing flake template %s: %w", tmpl, err)
	}
	if meta.Cache != "" {
		desc += " of the Cachix cache " + meta.Cache
	}
	var buf bytes.Buffer
	err = t.Execute(&buf, map[string]any{
		"Description":  desc + " (create-pin-refs)",
		"Substituters": nonNil(compact(meta.Substituter)),
		"PublicKeys":   meta.PublicKeys,
	})
	if err != nil {
		return nil, fmt.Errorf("rendering flake.nix: %w", err)
	}
	return buf.Bytes(), nil
}

func compact(s ...string) []string {
	return slices.DeleteFunc(s, func(x string) bool { return x == "" })
}

func (m Meta) validate() error {
	if strings.ContainsFunc(m.Cache, unicode.IsControl) {
		return fmt.Errorf("cache name %q: contains a control character", m.Cache)
	}
	if m.Substituter == "" {
		return fmt.Errorf("substituter: empty (pass --substituter or --cache)")
	}
	if _, err := weburl.Parse(m.Substituter); err != nil {
		return fmt.Errorf("substituter: %w (Nix's fetchClosure needs a plain http(s) URL)", err)
	}
	for _, k := range m.PublicKeys {
		if err := CheckPublicKey(k); err != nil {
			return err
		}
	}
	return nil
}

// CheckPublicKey checks that k is a key Nix can trust: NAME:KEY, KEY the
// base64 of a 32-byte ed25519 public key, as in trusted-public-keys. Nix
// takes any other text in the flake's nixConfig and then fails every
// signature check, far from here.
func CheckPublicKey(k string) error {
	name, key, ok := strings.Cut(k, ":")
	if !ok || name == "" || strings.ContainsFunc(k, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Errorf("public key %q: must look like NAME:BASE64KEY (as in trusted-public-keys, such as cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=)", k)
	}
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != ed25519.PublicKeySize {
		return fmt.Errorf("public key %q: the part after the colon is not the base64 of a %d-byte ed25519 public key", k, ed25519.PublicKeySize)
	}
	return nil
}
