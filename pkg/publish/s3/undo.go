package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
)

// saved is an object as it was before this publish wrote over it.
type saved struct {
	body []byte
	head s3bucket.PutOptions
}

// undo is what a publish needs to put the prefix back as it was: the
// previous content of each object it writes over, and the names it wrote.
type undo struct {
	b    Bucket
	etag string // of the marker read, or of the claim
	// claimed: the prefix had no marker, and the publish made the empty
	// one it writes over (claim), which putting back deletes.
	claimed bool
	saved   map[string]saved
	// written are the names whose Put was sent, answered or not: a failed
	// write may have been made all the same.
	written []string
	slots   chan struct{}
}

// undoTime bounds putting the prefix back: it runs even when ctx is done
// (a cancelled run is the likeliest to have stopped halfway).
const undoTime = 2 * time.Minute

// previousLimit bounds the read of an object to put back: a site's largest,
// the pins tarball, is a few MB at 100,000 names.
const previousLimit = 256 << 20

// toRead are the names of todo to read before they are written over, to
// put them back: the mutable names the marker lists, or on a prefix
// adopted every name, as anything may be there. One the caller read
// already as the marker lists it (asListed) is saved as it is. Objects written with the same
// content and headers (p/NAME and p/NAME.tar.gz, pins and pins.tar.gz) are
// read once: twins maps a name read to the others like it.
func (u *undo) toRead(todo []string, listed map[string]string, asListed map[string][]byte, adopted bool) (names []string, twins map[string][]string) {
	twins = map[string][]string{}
	first := map[string]string{} // content and headers, to the name read
	for _, name := range todo {
		if !adopted && (kindOf(name) == kindImmutable || listed[name] == "") {
			continue
		}
		if data, ok := asListed[name]; ok && !linked(name) {
			u.saved[name] = saved{data, headers(name, "")}
			continue
		}
		if s := listed[name]; s != "" {
			like := s + "\x00" + fmt.Sprint(headers(name, "link"))
			if f, ok := first[like]; ok {
				twins[f] = append(twins[f], name)
				continue
			}
			first[like] = name
		}
		names = append(names, name)
	}
	return names, twins
}

// read reads names as they are now, to put them back; a name with no
// object is left out (undone by deleting it). The twins of a name read,
// written with the same content and headers, are taken to hold what it
// holds; those of one found gone (deleted by hand) are read too. It
// returns how many it read.
func (u *undo) read(ctx context.Context, names []string, twins map[string][]string) (int, error) {
	n, err := u.readEach(ctx, names)
	if err != nil {
		return n, err
	}
	var again []string
	for name, others := range twins {
		s, ok := u.saved[name]
		for _, o := range others {
			if ok {
				u.saved[o] = s
			} else {
				again = append(again, o)
			}
		}
	}
	m, err := u.readEach(ctx, again)
	return n + m, err
}

// readEach reads names as they are now, as many at once as slots holds.
func (u *undo) readEach(ctx context.Context, names []string) (int, error) {
	var mu sync.Mutex
	errs := each(names, u.slots, func(name string) error {
		obj, err := u.b.Get(ctx, name, previousLimit)
		switch {
		case errors.Is(err, s3bucket.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("reading %s as it is, to put it back should this publish fail: %w", name, err)
		}
		mu.Lock()
		u.saved[name] = saved{obj.Body, s3bucket.PutOptions{ContentType: obj.ContentType, CacheControl: obj.CacheControl, Metadata: obj.Metadata}}
		mu.Unlock()
		return nil
	})
	return len(names), first(errs, "reads")
}

// back puts the prefix back as it was before this publish, after cause: the
// objects written over get their old content and headers again, the ones
// created are deleted. ours is the marker this publish sent if cause is its
// write, to tell whether it was made all the same: back returns nil then,
// and the publish stands.
//
// If the marker is no longer the one read, another publish wrote the prefix
// meanwhile, maybe the same names: nothing is put back, and the error is
// ErrRaced, so the caller reads the pins again and publishes on top.
func (u *undo) back(ctx context.Context, cause error, ours []byte) error {
	if len(u.written) == 0 && !u.claimed {
		return fmt.Errorf("%w; the site at %s is as it was before this run (nothing written)", cause, u.b)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTime)
	defer cancel()
	obj, err := u.b.Get(ctx, MarkerName, markerLimit)
	switch {
	case errors.Is(err, s3bucket.ErrNotFound) && u.etag == "":
	case err == nil && obj.ETag == u.etag:
	case err == nil && ours != nil && bytes.Equal(obj.Body, ours):
		return nil
	case err == nil || errors.Is(err, s3bucket.ErrNotFound):
		return fmt.Errorf("%w: %s changed after this publish read it, so nothing of this run's was put back: the other publish's objects may be what is there now (%w)", ErrRaced, MarkerName, cause)
	default:
		return fmt.Errorf("%w; reading %s again, to tell whether another publish wrote the prefix since, failed too (%v), so nothing was put back: %s may hold this run's content; publishing again fixes it",
			cause, MarkerName, err, list(u.written))
	}

	var restore, remove []string
	for _, name := range u.written {
		if _, ok := u.saved[name]; ok {
			restore = append(restore, name)
		} else {
			remove = append(remove, name)
		}
	}
	var stuck []string
	var errs []error
	// The reverse of the order of writes, a kind at a time: pins.json
	// first, and the created objects last, when no name points at them.
	slices.Reverse(restore)
	for start := 0; start < len(restore); {
		end := start
		for end < len(restore) && kindOf(restore[end]) == kindOf(restore[start]) {
			end++
		}
		group := restore[start:end]
		for i, err := range each(group, u.slots, func(name string) error {
			s := u.saved[name]
			_, err := u.b.Put(ctx, name, s.body, s.head)
			return err
		}) {
			if err != nil {
				stuck, errs = append(stuck, group[i]), append(errs, err)
			}
		}
		start = end
	}
	created := len(remove)
	if u.claimed {
		// Last: the prefix had no marker, and the created objects are
		// gone by now.
		remove = append(remove, MarkerName)
	}
	if len(remove) > 0 {
		if err := u.b.Delete(ctx, remove...); err != nil {
			stuck, errs = append(stuck, remove...), append(errs, err)
		}
	}
	if len(stuck) > 0 {
		slices.Sort(stuck)
		return fmt.Errorf("%w; putting the site at %s back as it was failed too (%v): %s hold this run's content; publishing again fixes it",
			cause, u.b, errs[0], list(stuck))
	}
	return fmt.Errorf("%w; the site at %s is as it was before this run (%d objects put back, %d deleted)", cause, u.b, len(restore), created)
}

// each runs fn on every name, as many at once as slots holds, and returns
// the errors by index once all are answered.
func each(names []string, slots chan struct{}, fn func(name string) error) []error {
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[i] = fn(name)
		})
	}
	wg.Wait()
	return errs
}

// first is the first of errs, saying how many more of the requests failed.
func first(errs []error, what string) error {
	failed := slices.DeleteFunc(slices.Clone(errs), func(err error) bool { return err == nil })
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return failed[0]
	}
	return fmt.Errorf("%w (and %d more of %d %s failed)", failed[0], len(failed)-1, len(errs), what)
}

// list names up to ten names, and how many more.
func list(names []string) string {
	const most = 10
	s := strings.Join(names[:min(len(names), most)], ", ")
	if len(names) > most {
		s += fmt.Sprintf(" and %d more", len(names)-most)
	}
	return s
}
