// Package closures makes a binary cache of many pins whose closures overlap as
// real ones do, served from memory on loopback, for the verification
// benchmarks: `go run ./bench/closures/cmd` and `go test -bench Closures
// ./pkg/verify/`.
package closures

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// Shape of the graph. Every pin refers to two libraries; library j refers to
// library j/4 and to the top of a chain of base paths (glibc, libgcc, bash…
// as in a stdenv's runtime closure): a pin's closure is itself, about eight
// libraries and the base chain, ~20 paths, most of them shared.
const (
	Libraries = 1000
	Base      = 12
)

// Cache is a generated binary cache: narinfo text by hash.
type Cache struct {
	Pins     []string // the pinned store paths
	narinfos map[string]string
	refs     map[string][]string // by store path
}

// Paths is the number of distinct store paths in the cache.
func (c *Cache) Paths() int { return len(c.narinfos) }

// New generates pins pins over the shared libraries and base chain.
func New(pins int) *Cache {
	c := &Cache{narinfos: make(map[string]string, pins+Libraries+Base), refs: make(map[string][]string, pins+Libraries+Base)}
	base := make([]string, Base)
	for i := range base {
		base[i] = path(fmt.Sprintf("base-%d", i))
		var refs []string
		if i > 0 {
			refs = []string{base[i-1]}
		}
		c.add(base[i], 1<<20, refs)
	}
	libs := make([]string, Libraries)
	for j := range libs {
		libs[j] = path(fmt.Sprintf("lib-%d", j))
		refs := []string{libs[j], base[Base-1]} // self-references are common
		if j > 0 {
			refs = append(refs, libs[j/4])
		}
		c.add(libs[j], 200<<10, refs)
	}
	for i := range pins {
		p := path(fmt.Sprintf("pin-%d", i))
		c.Pins = append(c.Pins, p)
		c.add(p, 50<<10, []string{libs[(i*7)%Libraries], libs[(i*13+5)%Libraries]})
	}
	return c
}

func (c *Cache) add(p string, size int, refs []string) {
	c.narinfos[hash(p)] = fakecachix.NarInfo{StorePath: p, NarSize: size, References: refs}.Text()
	c.refs[p] = refs
}

// Reachable is the number of distinct store paths in the closures of roots:
// the narinfo files a verifier must read, each once.
func (c *Cache) Reachable(roots []string) int {
	seen := make(map[string]bool, len(c.refs))
	todo := append([]string(nil), roots...)
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		todo = append(todo, c.refs[p]...)
	}
	return len(seen)
}

// ServeHTTP answers GET /HASH.narinfo from memory, 404 for anything else.
func (c *Cache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if h, ok := strings.CutSuffix(name, ".narinfo"); ok {
		if text, ok := c.narinfos[h]; ok {
			w.Header().Set("Content-Type", "text/x-nix-narinfo")
			_, _ = w.Write([]byte(text))
			return
		}
	}
	if name == "nix-cache-info" {
		_, _ = w.Write([]byte("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n"))
		return
	}
	http.NotFound(w, r)
}

// Listen serves c on a free loopback port until the listener is closed; it
// returns the cache's URL.
func (c *Cache) Listen() (string, net.Listener, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = http.Serve(l, c) }()
	return "http://" + l.Addr().String(), l, nil
}

var path = fakecachix.StorePath

func hash(p string) string { return strings.TrimPrefix(p, "/nix/store/")[:32] }
