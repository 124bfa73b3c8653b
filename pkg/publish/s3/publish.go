// Package s3 publishes the site to a prefix of an S3-compatible bucket:
// only the objects that changed, in an order that never lets a reader find
// a name pointing at an object not yet written, guarded by a marker that
// lists what create-pin-refs wrote and serves as the compare-and-swap
// between publishers racing on one prefix.
package s3

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// Bucket is what a publish needs of a bucket; *s3bucket.Bucket has it.
type Bucket interface {
	Get(ctx context.Context, name string, limit int64) (s3bucket.Object, error)
	Put(ctx context.Context, name string, body []byte, o s3bucket.PutOptions) (string, error)
	Delete(ctx context.Context, names ...string) error
	List(ctx context.Context, under string, limit int) ([]s3bucket.Entry, error)
	Head(ctx context.Context, name string) (s3bucket.Object, error)
	String() string
}

// ErrRaced is another publish that wrote the prefix after this one read its
// marker: nothing of this publish's is lost that the next, reading the pins
// again, does not write. Test for it with errors.Is.
var ErrRaced = errors.New("another publish wrote the prefix since this one read it")

// Options say what to publish.
type Options struct {
	// Files is the site: each object's name under the prefix and content.
	Files map[string][]byte
	// Link is the x-amz-meta-link of the mutable tarballs ("": none).
	Link string
	// Force adopts a prefix that holds objects but no marker of ours.
	Force bool
	// Base is the marker read before the site was made (ReadBase); nil
	// reads it now.
	Base *Base
	// Check lists the prefix rather than trusting the marker alone: an
	// object the marker lists that is gone or holds other content (deleted
	// or written over by hand) is written again. One request per 1,000
	// objects.
	Check bool
	// Concurrency bounds the requests in flight (0: 16).
	Concurrency int
	// Previous holds objects of the prefix the caller has read already
	// (pins.json, index.html), by name, nil for one found missing: what the
	// site was made on, and the content to put back should the publish
	// fail, instead of reading it again. One is used only if its
	// MD5 is the one the marker lists, and its headers are taken to be the
	// ones a publish writes for its name; the mutable tarballs, whose link
	// metadata is not known from their bytes, are always read.
	Previous map[string][]byte
	// Lock is the prefix's lock, held by the caller since before it read
	// Base (Acquire), as after a lost race; Publish leaves it held. nil:
	// Publish takes it, as LockOptions say, once it knows it has something
	// to write, and releases it before it returns.
	Lock        *Lock
	LockOptions LockOptions
}

// Result is what a publish did.
type Result struct {
	// Put and BytesPut count the site's objects written, Deleted those
	// deleted, Unchanged those left alone (the marker and the lock aside).
	Put, Deleted, Unchanged int
	BytesPut                int64
	// Changed: an object was written or deleted.
	Changed bool
	// Created: the prefix held no marker before.
	Created bool
	// Stale are the objects the marker lists that were gone or held other
	// content (Options.Check, or a lock taken over), in order.
	Stale []string
	// Listed: the prefix was listed for Stale.
	Listed bool
	// Read is how many objects were read (the marker aside), to put them
	// back should the publish fail.
	Read int
	// Warnings are what went wrong after the site was published (the
	// lock's release).
	Warnings []string
}

// Publish writes o.Files under the bucket's prefix: the objects whose content
// differs from what the marker lists, immutable bundles first, then the
// folders' files, the mutable names at the top, pins.json, and the marker
// last, written only if it is still the one read (If-Match). A prefix with
// no marker is claimed first with an empty one (If-None-Match: *), so that
// two first publishes race as two updates do. Then the objects the marker
// listed that the site no longer holds are deleted. An unchanged site
// writes nothing, and reads only the marker.
//
// All writes are made under the prefix's lock (LockName; o.Lock, or taken
// here once there is something to write): the marker guards itself alone,
// and two publishes writing at once would leave objects of the loser under
// the winner's marker, or delete a bundle the other's pins.json names.
// Under the lock the marker's ETag is read again: another publish since is
// ErrRaced, with nothing of this one's written. So is a site made on a
// pins.json (o.Previous) other than the one the marker lists, unless the
// caller held the lock while it read both (then it was changed by hand, and
// is written again, as index.html is).
//
// A failure before the marker is written (or a failed write of the marker
// itself that did not make it) puts the prefix back as it was: each mutable
// object written over is read first, alongside the immutable writes (or
// taken from o.Previous), and put back with its headers; each object created
// is deleted. The error then says so, or, if putting back failed too, which
// names hold this run's content (publishing again fixes it). A lost race is
// not undone: if the marker is no longer the one read, the other publish's
// objects may be what is there now, and the error is ErrRaced, for the
// caller to read the pins again and publish on top.
func Publish(ctx context.Context, b Bucket, o Options) (*Result, error) {
	if len(o.Files) == 0 || o.Files[site.Manifest] == nil {
		return nil, fmt.Errorf("s3: no site to publish (no %s)", site.Manifest)
	}
	// The files are summed, on every core, while the requests below go
	// out (the marker, when not read before the pins; a first publish's
	// claim; Check's listing).
	summed := make(chan map[string]string, 1)
	go func() { summed <- sumAll(o.Files) }()
	base := o.Base
	if base == nil {
		var err error
		if base, err = ReadBase(ctx, b, o.Force); err != nil {
			<-summed // never left running
			return nil, err
		}
	}
	prev, etag, adopted := base.marker, base.etag, base.adopted
	var err error
	res := &Result{Created: etag == ""}
	if res.Created {
		if etag, err = claim(ctx, b, res); err != nil {
			return nil, err
		}
	}
	// Stale names are listed, but not as listed: written again.
	var stales map[string]bool
	stale := func(names ...string) {
		if stales == nil {
			stales = map[string]bool{}
		}
		for _, n := range names {
			stales[n] = true
		}
	}
	list := func() error { // the prefix, against the marker (Options.Check)
		found, err := staleOf(ctx, b, prev.Objects)
		if err != nil {
			return err
		}
		res.Stale, res.Listed = found, true
		stale(found...)
		return nil
	}
	// A lock taken over from a publish that stopped halfway: list too.
	if (o.Check || o.Lock.mustCheck()) && !res.Created {
		if err := list(); err != nil {
			return nil, err
		}
	}
	sums := <-summed // after an error above, the sums end alone
	// The site was made on the previous one as read (o.Previous): one that
	// is not what the marker lists is another publish's, landed between
	// the two reads, or was changed by hand, and is written again. Its
	// pins.json names the bundles kept: made on another's, the site would
	// drop that publish's bundle, so unless the lock was held while both
	// were read, the pins are read again.
	asListed := map[string][]byte{} // of o.Previous, summed once
	for name, data := range o.Previous {
		s, ok := prev.Objects[name]
		switch {
		case ok && s == sum(data):
			asListed[name] = data
		case ok && name == site.Manifest && o.Lock == nil:
			return nil, fmt.Errorf("%w: the %s read is not the one %s lists", ErrRaced, name, MarkerName)
		case ok:
			stale(name)
		}
	}
	todo, gone := plan(o.Files, sums, prev.Objects, stales)
	res.Unchanged = len(o.Files) - len(todo)
	if len(todo) == 0 && len(gone) == 0 && o.Lock == nil {
		// The site is the marker's, but a lock there is another publish
		// writing over it, or one killed midway that left it half
		// written: wait for it, as a publish with something to write
		// does, and look again.
		held, err := lockHeld(ctx, b)
		if err != nil || !held {
			return res, err
		}
	}
	u := &undo{b: b, etag: etag, claimed: res.Created, saved: map[string]saved{}, slots: make(chan struct{}, cmp.Or(o.Concurrency, 16))}
	lock := o.Lock
	if lock == nil {
		if lock, err = lockFor(ctx, b, o.LockOptions, etag); err != nil {
			if errors.Is(err, ErrRaced) {
				return nil, err
			}
			return nil, u.back(ctx, err, nil) // the claim, if any
		}
		defer func() {
			if err := lock.Release(ctx); err != nil {
				res.Warnings = append(res.Warnings, err.Error())
			}
		}()
	}
	if lock.mustCheck() && !res.Listed && !res.Created {
		// The holder before stopped renewing, maybe halfway.
		if err := list(); err != nil {
			return nil, err
		}
		todo, gone = plan(o.Files, sums, prev.Objects, stales)
		res.Unchanged = len(o.Files) - len(todo)
	}
	if len(todo) == 0 && len(gone) == 0 {
		return res, nil
	}
	next := &marker{Generator: generator, Format: markerFormat, Objects: sums}
	body, err := next.encode()
	if err != nil {
		return nil, fmt.Errorf("s3: encoding %s: %w", MarkerName, err)
	}
	slices.SortFunc(todo, func(x, y string) int { return cmp.Or(cmp.Compare(kindOf(x), kindOf(y)), cmp.Compare(x, y)) })
	toRead, twins := u.toRead(todo, prev.Objects, asListed, adopted)
	reads := make(chan error, 1)
	go func() {
		var err error
		res.Read, err = u.read(ctx, toRead, twins)
		reads <- err
	}()
	waitReads := func() error {
		if reads == nil {
			return nil
		}
		err := <-reads
		reads = nil
		return err
	}
	for start := 0; start < len(todo); {
		// One kind at a time: the next waits for the last of this one.
		end := start
		for end < len(todo) && kindOf(todo[end]) == kindOf(todo[start]) {
			end++
		}
		group := todo[start:end]
		if err := stopped(lock); err != nil {
			return nil, err
		}
		if adopted || kindOf(group[0]) != kindImmutable {
			// Nothing is written over before it is read.
			if err := waitReads(); err != nil {
				return nil, u.back(ctx, err, nil)
			}
		}
		if err := putAll(ctx, b, o, group, u, res); err != nil {
			// Only immutable objects can have been written before a read
			// failed: what was read is all there is to put back.
			_ = waitReads()
			return nil, u.back(ctx, err, nil)
		}
		start = end
	}
	if err := waitReads(); err != nil {
		return nil, u.back(ctx, err, nil)
	}
	if err := stopped(lock); err != nil {
		return nil, err
	}
	cond := s3bucket.PutOptions{ContentType: "application/gzip", CacheControl: "no-store", IfMatch: etag}
	if _, err := b.Put(ctx, MarkerName, body, cond); err != nil {
		if errors.Is(err, s3bucket.ErrPrecondition) {
			return nil, fmt.Errorf("%w: %s changed after this publish read it (%w)", ErrRaced, MarkerName, err)
		}
		if err := u.back(ctx, err, body); err != nil {
			return nil, err
		}
	}
	res.Changed = true
	if len(gone) > 0 {
		slices.Sort(gone)
		if err := b.Delete(ctx, gone...); err != nil {
			return nil, fmt.Errorf("deleting %d objects the site no longer holds (the site is published; the next publish deletes them again): %w", len(gone), err)
		}
		res.Deleted = len(gone)
	}
	return res, nil
}

// plan is what a publish writes (the names whose content differs from what
// the marker lists, or that are stale) and deletes (the names the marker
// lists that the site no longer holds).
func plan(files map[string][]byte, sums, listed map[string]string, stales map[string]bool) (todo, gone []string) {
	for name, s := range sums {
		if listed[name] != s || stales[name] {
			todo = append(todo, name)
		}
	}
	for name := range listed {
		if _, ok := files[name]; !ok {
			gone = append(gone, name)
		}
	}
	return todo, gone
}

// putAll writes names, as many at once as u.slots holds, each marked
// written in u once its request is sent; the first error is returned once
// all writes are answered. Once ctx is done no more are sent: the error is
// then what stopped the run (a signal), not the requests' cancellation.
func putAll(ctx context.Context, b Bucket, o Options, names []string, u *undo, res *Result) error {
	var mu sync.Mutex
	errs := each(names, u.slots, func(name string) error {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped: %w", context.Cause(ctx))
		}
		mu.Lock()
		u.written = append(u.written, name)
		mu.Unlock()
		_, err := b.Put(ctx, name, o.Files[name], headers(name, o.Link))
		if err == nil {
			mu.Lock()
			res.Put++
			res.BytesPut += int64(len(o.Files[name]))
			mu.Unlock()
		}
		return err
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped: %w", context.Cause(ctx))
	}
	return first(errs, "writes")
}
