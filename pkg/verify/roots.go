package verify

import (
	"context"
	"errors"
	"sync"
)

// Roots classifies each of paths by its own narinfo alone, not following its
// references: Complete when the cache holds it, Split when only an upstream
// cache does, Missing when none does. It is the spot check of a verdict
// carried over from an earlier publish (pkg/verdicts): Cachix serves a
// narinfo only while it holds the path's whole closure (see its garbage
// collection documentation), so a pinned path still served vouches for the
// rest. Each path is read once; at most opts.Concurrency at a time.
func Roots(ctx context.Context, paths []string, opts Options) (map[string]Class, error) {
	if opts.Cache == nil {
		return nil, errors.New("verify: no cache")
	}
	sources := append([]Source{opts.Cache}, opts.Upstream...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(map[string]Class, len(paths))
	var todo []string
	for _, p := range paths {
		if _, dup := out[p]; !dup {
			out[p] = Missing
			todo = append(todo, p)
		}
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, max(opts.Concurrency, 1))
	for _, p := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := lookup(ctx, sources, 0, p)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.err != nil:
				if firstErr == nil {
					firstErr = r.err
					cancel()
				}
			case r.where == inCache:
				out[p] = Complete
			case r.where > inCache:
				out[p] = Split
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
