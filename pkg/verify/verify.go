// Package verify follows pinned store paths through binary caches: it reads the
// narinfo of every path in each pin's closure, at most once per run, and
// classifies each closure as complete in the pin's cache, split between it and
// upstream caches, or incomplete.
package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
)

// Class says where a pin's closure can be substituted from.
type Class string

const (
	// Complete: every path is in the pin's cache, so builtins.fetchClosure
	// (which reads one cache) can fetch it in pure evaluation.
	Complete Class = "complete"
	// Split: every path is in some cache, some only upstream; Nix substitutes
	// it from all its caches (storePath, or appendContext in pure evaluation).
	Split Class = "split"
	// Incomplete: some path of the closure is in no cache.
	Incomplete Class = "incomplete"
	// Missing: the pinned path itself is in no cache.
	Missing Class = "missing"
)

// Source is one binary cache.
type Source interface {
	URL() string
	Get(ctx context.Context, hash string) (*narinfo.NarInfo, error)
}

// Options say where to look.
type Options struct {
	// Cache is the pins' own binary cache, asked first for every path.
	Cache Source
	// Upstream caches are asked, in order, for a path the cache lacks.
	Upstream []Source
	// Concurrency bounds the narinfo requests in flight (at least 1).
	Concurrency int
}

// Closure is what the caches say about one pinned path.
type Closure struct {
	Class Class
	// NarSize is the pinned path's own size, unpacked; ClosureSize the sum
	// over its closure, Paths the number of paths in it (itself included).
	// Sizes count only the paths that some cache holds.
	NarSize     uint64
	ClosureSize uint64
	Paths       int
	CA          string // content address of the pinned path; "" when input-addressed
	Deriver     string // store path of its derivation, when the cache knows it
	// Upstream lists the closure's paths found only upstream; Absent those in
	// no cache. Both sorted.
	Upstream []string
	Absent   []string
}

// LookupError is a narinfo read that failed for another reason than a
// missing path: an unreadable cache makes every verdict unsound.
type LookupError struct {
	Path  string // the store path asked about
	Cache string // the cache's URL
	Err   error
}

func (e *LookupError) Error() string {
	return fmt.Sprintf("reading the narinfo of %s from %s: %v", e.Path, e.Cache, e.Err)
}

func (e *LookupError) Unwrap() error { return e.Err }

// where a path was found.
const (
	inNoCache = -1
	inCache   = 0 // i > 0: in Upstream[i-1]
)

type node struct {
	path    string
	where   int
	narSize uint64
	refs    []int32
}

type result struct {
	id    int32
	where int
	info  *narinfo.NarInfo
	err   error
}

// Closures classifies the closure of each of paths (valid store paths).
// Every narinfo is read once, however many closures share it.
func Closures(ctx context.Context, paths []string, opts Options) (map[string]*Closure, error) {
	if opts.Cache == nil {
		return nil, errors.New("verify: no cache")
	}
	workers := max(opts.Concurrency, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	w := &walk{ids: make(map[string]int32, len(paths)*2), roots: map[int32]*Closure{}}
	var pending []int32
	for _, p := range paths {
		id, isNew := w.id(p)
		if isNew {
			pending = append(pending, id)
		}
		w.roots[id] = nil
	}

	// Workers get the path with the job: the node table grows meanwhile.
	type job struct {
		id   int32
		path string
	}
	sources := append([]Source{opts.Cache}, opts.Upstream...)
	jobs := make(chan job)
	results := make(chan result, workers)
	for range workers {
		go func() {
			for j := range jobs {
				results <- lookup(ctx, sources, j.id, j.path)
			}
		}()
	}
	defer close(jobs)

	var firstErr error
	inflight := 0
	for len(pending) > 0 || inflight > 0 {
		var send chan job
		var next job
		if len(pending) > 0 && firstErr == nil {
			id := pending[len(pending)-1]
			send, next = jobs, job{id, w.nodes[id].path}
		}
		if send == nil && inflight == 0 {
			break
		}
		select {
		case send <- next:
			pending = pending[:len(pending)-1]
			inflight++
		case r := <-results:
			inflight--
			if r.err != nil {
				if firstErr == nil {
					firstErr = r.err
					cancel()
				}
				continue
			}
			pending = w.record(r, pending)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return w.classify(paths), nil
}

type walk struct {
	// Only the coordinating goroutine touches a walk.
	ids   map[string]int32
	nodes []node
	roots map[int32]*Closure
	// infoOf keeps CA and deriver of pinned paths only: the rest of a
	// narinfo is dropped once its references are recorded.
	infoOf map[int32]*narinfo.NarInfo
}

// id returns the node of a store path (or base name), adding it when new.
func (w *walk) id(path string) (int32, bool) {
	h := narinfo.Hash(path)
	if id, ok := w.ids[h]; ok {
		return id, false
	}
	id := int32(len(w.nodes))
	w.ids[h] = id
	if !isStorePath(path) {
		path = "/nix/store/" + path
	}
	w.nodes = append(w.nodes, node{path: path, where: inNoCache})
	return id, true
}

// lookup asks the cache, then each upstream cache, for one path.
func lookup(ctx context.Context, sources []Source, id int32, path string) result {
	hash := narinfo.Hash(path)
	for i, src := range sources {
		info, err := src.Get(ctx, hash)
		switch {
		case err == nil:
			return result{id: id, where: i, info: info}
		case !errors.Is(err, narinfo.ErrNotFound):
			return result{id: id, err: &LookupError{Path: path, Cache: src.URL(), Err: err}}
		}
	}
	return result{id: id, where: inNoCache}
}

// record stores a lookup's answer and queues the references not seen yet.
func (w *walk) record(r result, pending []int32) []int32 {
	w.nodes[r.id].where = r.where
	if r.info == nil {
		return pending
	}
	w.nodes[r.id].narSize = r.info.NarSize
	// Not a pointer into nodes: adding references may move it.
	refs := make([]int32, 0, len(r.info.References))
	for _, ref := range r.info.References {
		id, isNew := w.id(ref)
		if isNew {
			pending = append(pending, id)
		}
		if id != r.id {
			refs = append(refs, id)
		}
	}
	w.nodes[r.id].refs = refs
	if _, ok := w.roots[r.id]; ok {
		if w.infoOf == nil {
			w.infoOf = map[int32]*narinfo.NarInfo{}
		}
		w.infoOf[r.id] = &narinfo.NarInfo{CA: r.info.CA, Deriver: r.info.Deriver}
	}
	return pending
}

// classify walks each root's closure over the recorded graph.
func (w *walk) classify(paths []string) map[string]*Closure {
	out := make(map[string]*Closure, len(paths))
	stamp := make([]int32, len(w.nodes))
	var stack []int32
	gen := int32(0)
	for _, p := range paths {
		if _, done := out[p]; done {
			continue
		}
		root := w.ids[narinfo.Hash(p)]
		gen++
		c := &Closure{NarSize: w.nodes[root].narSize}
		if info := w.infoOf[root]; info != nil {
			c.CA = info.CA
			if info.Deriver != "" {
				c.Deriver = "/nix/store/" + info.Deriver
			}
		}
		stack = append(stack[:0], root)
		stamp[root] = gen
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n := &w.nodes[id]
			c.Paths++
			c.ClosureSize += n.narSize
			switch {
			case n.where == inNoCache:
				c.Absent = append(c.Absent, n.path)
			case n.where > inCache:
				c.Upstream = append(c.Upstream, n.path)
			}
			for _, ref := range n.refs {
				if stamp[ref] != gen {
					stamp[ref] = gen
					stack = append(stack, ref)
				}
			}
		}
		slices.Sort(c.Upstream)
		slices.Sort(c.Absent)
		switch {
		case w.nodes[root].where == inNoCache:
			c.Class = Missing
		case len(c.Absent) > 0:
			c.Class = Incomplete
		case len(c.Upstream) > 0:
			c.Class = Split
		default:
			c.Class = Complete
		}
		out[p] = c
	}
	return out
}

func isStorePath(p string) bool { return len(p) > 0 && p[0] == '/' }
