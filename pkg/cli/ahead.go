package cli

import (
	"context"
	"sync"

	"github.com/kwbauson/create-pin-refs/pkg/kept"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// readAhead is a kept.Source that reads some names before they are asked
// for, beside other work, and answers them from what it read: the earlier
// immutable bundles of a live site, read while the closures are walked
// rather than after.
type readAhead struct {
	kept.Source
	wg  sync.WaitGroup
	mu  sync.Mutex
	got map[string]readResult
}

type readResult struct {
	data  []byte
	err   error
	limit int64
}

func newReadAhead(src kept.Source) *readAhead {
	return &readAhead{Source: src, got: map[string]readResult{}}
}

// bundles starts reading the first n immutable bundles refs lists, at most
// limit bytes each.
func (r *readAhead) bundles(ctx context.Context, refs []site.BundleRef, n int, limit int64) {
	for _, ref := range refs {
		if n == 0 {
			break
		}
		if !site.ValidBundlePath(ref.Path) {
			continue
		}
		n--
		r.wg.Go(func() {
			data, err := r.Source.Get(ctx, ref.Path, limit)
			r.mu.Lock()
			r.got[ref.Path] = readResult{data, err, limit}
			r.mu.Unlock()
		})
	}
}

// wait returns once the reads under way are done.
func (r *readAhead) wait() { r.wg.Wait() }

// Get answers name from what was read ahead within limit, or reads it.
func (r *readAhead) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	r.wg.Wait()
	r.mu.Lock()
	res, ok := r.got[name]
	r.mu.Unlock()
	if ok && res.limit == limit && ctx.Err() == nil {
		return res.data, res.err
	}
	return r.Source.Get(ctx, name, limit)
}
