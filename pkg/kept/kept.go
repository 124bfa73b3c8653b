// Package kept holds the immutable bundles that a site keeps serving from
// earlier publishes. It reads the earlier site's pins.json, which lists them,
// and their tarballs, from the live site over HTTP (Pages replaces the whole
// site on each deploy) or from the folder the site was written to, and checks
// each against the narHash it was published with, so that a lock made against
// it still resolves.
package kept

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// Limits bound what is read from an earlier site.
type Limits struct {
	// Manifest bounds the bytes of pins.json read for its bundle list,
	// which comes before the pins: the start of a large file is enough.
	// Whole bounds it read whole, for the verdicts on its pins as well
	// (pkg/verdicts): a pin takes about 350 bytes.
	Manifest, Whole int64
	// Bundle bounds one tarball, and Unpacked what it unpacks to.
	Bundle, Unpacked int64
	// List bounds the time to read pins.json, retries included (0: no
	// bound but the caller's): an earlier site is optional, so one that is
	// missing, unreachable or hanging should cost little. Once it has
	// answered, the bundles it lists are read without this bound.
	List time.Duration
}

// DefaultLimits are far above what a bundle of 100,000 pins takes; List is
// many times what reading the first MiB of pins.json from a live Pages site
// takes, and what reading the 3.5 MB of 10,000 pins whole takes (Pages
// serves it gzip-compressed, to a fifth).
var DefaultLimits = Limits{Manifest: 1 << 20, Whole: 64 << 20, Bundle: 64 << 20, Unpacked: 512 << 20, List: time.Second}

// Source reads files of an earlier site by their slash-separated path.
type Source interface {
	// Get returns the file's first limit+1 bytes (all of a shorter one), or
	// an error wrapping ErrNotFound when the site does not have it.
	Get(ctx context.Context, name string, limit int64) ([]byte, error)
	// String names the site in messages.
	String() string
}

// ErrNotFound is what a Source returns for a missing file.
var ErrNotFound = errors.New("not found")

// ErrTooLarge is the error for a file beyond its limit.
var ErrTooLarge = errors.New("larger than the limit")

// Bundle is an immutable bundle carried forward, with its tarball.
type Bundle struct {
	site.BundleRef
	Data []byte
}

// NoSiteError says why there is no earlier site to carry bundles from: a first
// publish, or a site that cannot be read.
type NoSiteError struct {
	Site string
	Err  error
}

func (e *NoSiteError) Error() string {
	return fmt.Sprintf("no earlier bundle list at %s: %v", e.Site, e.Err)
}

func (e *NoSiteError) Unwrap() error { return e.Err }

// Collect returns the immutable bundles of the earlier site to serve beside
// current, newest first, so that the site serves those of the last keep
// publishes in all (current included). The earlier site's own bundle list
// decides which they are; a publish whose bundle cannot be kept still counts.
// base is the site's URL ("" when unknown), for the
// bundles' URLs. Bundles at the paths in unpublished, which this run wrote
// but never published (it read the pins again), are left out uncounted. A bundle that is missing, too large or not what its narHash
// says is left out and reported in skipped; err is a *NoSiteError when there
// is no earlier list at all. Neither is a reason to fail a publish.
func Collect(ctx context.Context, src Source, lim Limits, keep int, current site.BundleRef, base string, unpublished ...string) (kept []Bundle, skipped []error, err error) {
	refs, err := Read(ctx, src, lim, false).List()
	if err != nil {
		return nil, nil, err
	}
	kept, skipped = CollectFrom(ctx, src, lim, keep, refs, current, base, unpublished...)
	return kept, skipped, nil
}

// CollectFrom is Collect for the earlier site's bundle list refs, read once
// (Read, Earlier.List) for the bundles, the verdicts and the changed output.
// The bundles are read fetchers at a time: one round trip for the lot,
// not one each; what is kept and skipped keeps the list's order.
func CollectFrom(ctx context.Context, src Source, lim Limits, keep int, refs []site.BundleRef, current site.BundleRef, base string, unpublished ...string) (kept []Bundle, skipped []error) {
	// Which publishes count is the list's doing, not the fetches': a
	// publish counts whether its bundle can be kept or not.
	type slot struct {
		ref  site.BundleRef
		data []byte
		err  error
	}
	var slots []*slot
	seen := []string{current.Path}
	for _, ref := range refs {
		if slices.Contains(seen, ref.Path) || slices.Contains(unpublished, ref.Path) {
			continue
		}
		if len(seen) >= keep {
			break
		}
		seen = append(seen, ref.Path)
		s := &slot{ref: ref}
		if !site.ValidBundlePath(ref.Path) {
			s.err = fmt.Errorf("%s lists %q, which is not an immutable bundle's path (b/NAME.tar.gz)", site.Manifest, ref.Path)
		}
		slots = append(slots, s)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, fetchers)
	for _, s := range slots {
		if s.err != nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.data, s.err = fetch(ctx, src, s.ref.Path, lim.Bundle)
			if s.err == nil {
				s.err = verify(s.data, s.ref.NarHash, lim.Unpacked)
			}
			if s.err != nil {
				s.err = fmt.Errorf("%s: %w", s.ref.Path, s.err)
			}
		}()
	}
	wg.Wait()
	for _, s := range slots {
		if s.err != nil {
			skipped = append(skipped, s.err)
			continue
		}
		ref := s.ref
		ref.URL = ""
		if base != "" {
			ref.URL = base + ref.Path
		}
		kept = append(kept, Bundle{BundleRef: ref, Data: s.data})
	}
	return kept, skipped
}

// fetchers bounds the bundles read at once from an earlier site: enough
// for the default --keep-bundles in one round trip, few for a server.
const fetchers = 10

// Earlier is an earlier site's pins.json as read, once per run.
type Earlier struct {
	Site  string // the site, for messages (Source.String)
	Data  []byte // its first Limit+1 bytes at most
	Limit int64
	// Err is a *NoSiteError when nothing could be read (a first publish,
	// a site that cannot be reached); Data is then nil.
	Err error
}

// Whole reports whether Data is the whole file.
func (e *Earlier) Whole() bool { return e.Err == nil && int64(len(e.Data)) <= e.Limit }

// Read reads the earlier site's pins.json within lim.List: its first
// lim.Manifest bytes, enough for the bundle list, or with whole up to
// lim.Whole, for the verdicts on its pins too. It never fails: a file that
// cannot be read is e.Err.
func Read(ctx context.Context, src Source, lim Limits, whole bool) *Earlier {
	if lim.List > 0 {
		var cancel context.CancelFunc
		ctx, cancel = retry.Budget(ctx, lim.List, "reading the earlier "+site.Manifest)
		defer cancel()
	}
	e := &Earlier{Site: src.String(), Limit: lim.Manifest}
	if whole {
		e.Limit = max(lim.Whole, lim.Manifest)
	}
	data, err := src.Get(ctx, site.Manifest, e.Limit)
	if err != nil {
		e.Err = &NoSiteError{Site: e.Site, Err: err}
		return e
	}
	e.Data = data
	return e
}

// List is the bundle list of the earlier pins.json, newest first: the first
// is the bundle the earlier publish served. It is empty for a site of a
// version without immutable bundles; err is a *NoSiteError when there is no
// list at all.
func (e *Earlier) List() ([]site.BundleRef, error) {
	if e.Err != nil {
		return nil, e.Err
	}
	refs, err := parseList(e.Data, e.Limit)
	if err != nil {
		return nil, &NoSiteError{Site: e.Site, Err: err}
	}
	return refs, nil
}

// parseList reads the "bundles" member of the earlier pins.json, which
// comes before the pins: the first limit bytes of the file are enough.
func parseList(data []byte, limit int64) ([]site.BundleRef, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s is not a JSON object (%v)", site.Manifest, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", site.Manifest, err)
		}
		if tok == "bundles" {
			var refs []site.BundleRef
			if err := dec.Decode(&refs); err != nil {
				return nil, fmt.Errorf("reading %s (its first %d bytes): bundles: %w", site.Manifest, limit, err)
			}
			return refs, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			if int64(len(data)) > limit {
				return nil, fmt.Errorf("%s: no bundle list in its first %d bytes", site.Manifest, limit)
			}
			return nil, fmt.Errorf("reading %s: %w", site.Manifest, err)
		}
	}
	// A site of a version without immutable bundles.
	return nil, nil
}

// fetch reads name whole, failing beyond limit bytes.
func fetch(ctx context.Context, src Source, name string, limit int64) ([]byte, error) {
	data, err := src.Get(ctx, name, limit)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w of %d bytes", ErrTooLarge, limit)
	}
	return data, nil
}
