package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
)

// claim writes an empty marker on a prefix that has none, before anything
// else is written (If-None-Match: *), and returns its ETag: of two first
// publishes, the one whose claim loses gets ErrRaced and publishes on top
// of the other's, rather than finding the other's objects and no marker.
func claim(ctx context.Context, b Bucket, res *Result) (string, error) {
	body, err := (&marker{Generator: generator, Format: markerFormat, Objects: map[string]string{}}).encode()
	if err != nil {
		return "", fmt.Errorf("s3: encoding %s: %w", MarkerName, err)
	}
	etag, err := b.Put(ctx, MarkerName, body, s3bucket.PutOptions{ContentType: "application/gzip", CacheControl: "no-store", IfNoneMatch: "*"})
	switch {
	case errors.Is(err, s3bucket.ErrPrecondition):
		return "", fmt.Errorf("%w: another publish made %s first (%w)", ErrRaced, MarkerName, err)
	case err != nil:
		return "", err
	}
	if etag == "" { // a server that sends none: the If-Match needs it
		obj, err := b.Get(ctx, MarkerName, markerLimit)
		if err != nil {
			return "", err
		}
		etag = obj.ETag
	}
	return etag, nil
}

// Base is the prefix's marker as read before the site was made: a publish
// replaces that state only, as a branch publish its head.
type Base struct {
	marker *marker
	etag   string // "": none
	// adopted: a publish may write over objects no marker lists (force).
	adopted bool
}

// ReadBase reads the prefix's marker, which Publish then writes over only
// if it is still the one read. A prefix with no marker must be empty, unless
// force; a marker that is not ours is an ErrNotOurs.
func ReadBase(ctx context.Context, b Bucket, force bool) (*Base, error) {
	m, etag, adopted, err := readMarker(ctx, b, force, true)
	if err != nil {
		return nil, err
	}
	return &Base{marker: m, etag: etag, adopted: adopted}, nil
}

// readMarker reads the prefix's marker and its ETag ("": none). A prefix
// with no marker must be empty, unless force: adopted says a publish may
// then write over objects no marker lists. again reads the marker once
// more when the prefix is found not empty: another first publish may have
// claimed it between the two requests.
func readMarker(ctx context.Context, b Bucket, force, again bool) (m *marker, etag string, adopted bool, err error) {
	empty := &marker{Objects: map[string]string{}}
	obj, err := b.Get(ctx, MarkerName, markerLimit)
	switch {
	case errors.Is(err, s3bucket.ErrNotFound):
		// One name is enough to tell; more is ErrTooMany, as many.
		found, err := b.List(ctx, "", 1)
		some := ""
		switch {
		case errors.Is(err, s3bucket.ErrTooMany):
			some = "objects"
		case err != nil:
			return nil, "", false, err
		case len(found) > 0:
			some = "objects (such as " + found[0].Name + ")"
		}
		if some != "" && again {
			// Claimed meanwhile by a first publish, maybe.
			return readMarker(ctx, b, force, false)
		}
		if some != "" && !force {
			return nil, "", false, fmt.Errorf("%w: %s holds %s but no %s: create-pin-refs publishes only to an empty prefix or one it created; choose another prefix, or --force-prefix (input force-prefix) to publish there, replacing the site's names (objects of other names are left alone)",
				ErrNotOurs, b, some, MarkerName)
		}
		return empty, "", some != "", nil
	case err != nil:
		return nil, "", false, err
	}
	m, err = parseMarker(obj.Body)
	if err != nil {
		if !force || !errors.Is(err, ErrNotOurs) {
			return nil, "", false, fmt.Errorf("%s: %w; --force-prefix publishes there anyway", b, err)
		}
		return empty, obj.ETag, true, nil
	}
	return m, obj.ETag, false, nil
}
