package site

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
)

// Finder is the file the index page's finder loads: every name once, made for
// the page. The bundle's indexes are objects keyed by name, made for Nix; a
// browser parses an object of 75,000 keys and copies it into a Map in over a
// second, and an array of strings in tens of milliseconds.
const Finder = "names.json"

// finderFormat changes when index.js must read Finder differently.
const finderFormat = 1

// finderData is the content of Finder. Names are in the bundle's order, so the
// shard of Names[i] is i / ShardSize (bundle.NamesPerShard) and the page needs
// no name-to-shard map; each name's systems are one of a few distinct sets,
// Groups, so that a name costs one small number however many systems the
// cache has.
type finderData struct {
	Format    int `json:"format"`
	ShardSize int `json:"shardSize"`
	// Groups are the distinct sets of systems names have, in the order first
	// met; "*" stands for a system-less pin, as in the shards.
	Groups [][]string `json:"groups"`
	Names  []string   `json:"names"`
	// Group[i] is the index in Groups of Names[i]'s systems.
	Group []int `json:"group"`
}

// anySystem is the shards' key of a system-less pin, and the page's.
const anySystem = "*"

// RenderFinder renders Finder for the pins of m, which are in the bundle's
// order (pins.Set's: by name, then system).
func RenderFinder(m ManifestData) ([]byte, error) {
	d := finderData{Format: finderFormat, Groups: [][]string{}, Names: []string{}, Group: []int{}}
	groupOf := map[string]int{}
	var systems []string
	var key []byte
	for i := 0; i < len(m.Pins); {
		j := i + 1
		for j < len(m.Pins) && m.Pins[j].Name == m.Pins[i].Name {
			j++
		}
		systems, key = systems[:0], key[:0]
		for _, p := range m.Pins[i:j] {
			s := p.System
			if s == "" {
				s = anySystem
			}
			systems = append(systems, s)
			// Length-prefixed, so that no system name can make two sets alike.
			key = append(strconv.AppendInt(key, int64(len(s)), 10), ':')
			key = append(key, s...)
		}
		g, ok := groupOf[string(key)]
		if !ok {
			g = len(d.Groups)
			groupOf[string(key)] = g
			d.Groups = append(d.Groups, append([]string(nil), systems...))
		}
		d.Names = append(d.Names, m.Pins[i].Name)
		d.Group = append(d.Group, g)
		i = j
	}
	d.ShardSize = bundle.NamesPerShard(len(d.Names))
	out, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", Finder, err)
	}
	return out, nil
}
