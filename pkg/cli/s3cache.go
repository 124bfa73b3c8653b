package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
)

// openBucket opens the s3:// location of a flag (--s3-url, --pins-from,
// --store), with the endpoint, the region and the credentials of the AWS
// settings; an error names the flag.
func openBucket(ctx context.Context, env Env, flag, raw, endpoint string) (*s3bucket.Bucket, error) {
	loc, err := s3bucket.ParseLocation(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: --%s: %w", config.ErrUsage, flag, err)
	}
	b, err := s3bucket.Open(ctx, s3bucket.Options{Location: loc, Endpoint: endpoint, HTTPClient: env.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return b, nil
}

// bucketCache is an S3 binary cache read through the S3 API, as `nix copy
// --to s3://…` wrote it (PREFIX/HASH.narinfo), with the credentials that
// read its pins: a private bucket's narinfo files are read as a public
// one's.
type bucketCache struct{ b *s3bucket.Bucket }

func (c bucketCache) URL() string { return c.b.Location().String() }

func (c bucketCache) Get(ctx context.Context, hash string) (*narinfo.NarInfo, error) {
	name := hash + ".narinfo"
	obj, err := c.b.Get(ctx, name, narinfo.MaxBody)
	switch {
	case errors.Is(err, s3bucket.ErrNotFound):
		return nil, alsoIs{err, narinfo.ErrNotFound}
	case errors.Is(err, s3bucket.ErrTooLarge):
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", c.b.Location().URL(name), narinfo.ErrCorrupt, narinfo.MaxBody)
	case err != nil:
		return nil, err
	}
	return narinfo.ParseFor(hash, obj.Body, c.b.Location().URL(name))
}
