package s3bucket

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Entry is one object of a listing.
type Entry struct {
	Name string
	ETag string
	Size int64
}

// pageSize is S3's most keys per ListObjectsV2 and per DeleteObjects.
const pageSize = 1000

// List returns the names under the folder under ("" for all the prefix,
// "p" for the names "p/…"), in key order, one request per 1000. More than
// limit names is ErrTooMany, found without listing the rest. Keys that are
// no valid name (a console's "folder/" marker) are left out.
func (b *Bucket) List(ctx context.Context, under string, limit int) ([]Entry, error) {
	prefix := b.loc.Key("")
	if under != "" {
		key, err := b.key("ListObjectsV2", under)
		if err != nil {
			return nil, err
		}
		prefix = key + "/"
	}
	in := &s3.ListObjectsV2Input{Bucket: &b.loc.Bucket, Prefix: optional(prefix), MaxKeys: aws.Int32(pageSize)}
	var entries []Entry
	// Each page but the last holds at least one key, so limit/pageSize+2
	// pages reach the end or the limit; the bound guards against a server
	// that keeps answering truncated empty pages.
	for range limit/pageSize + 2 {
		out, err := b.client.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, b.fail("ListObjectsV2", prefix, err)
		}
		for _, o := range out.Contents {
			name, ok := b.loc.Name(aws.ToString(o.Key))
			if !ok || validName(name) != nil {
				continue
			}
			if len(entries) == limit {
				return nil, &Error{Op: "ListObjectsV2", Bucket: b.loc.Bucket, Key: prefix, Kind: ErrTooMany,
					Detail: fmt.Sprintf("more than %d", limit)}
			}
			entries = append(entries, Entry{Name: name, ETag: aws.ToString(o.ETag), Size: aws.ToInt64(o.Size)})
		}
		if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
			return entries, nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	return nil, &Error{Op: "ListObjectsV2", Bucket: b.loc.Bucket, Key: prefix, Kind: ErrTooMany,
		Detail: fmt.Sprintf("still truncated after %d pages", limit/pageSize+2)}
}

// Delete removes the objects names: one DeleteObjects request per 1000, or
// one DeleteObject per name on a server that has no DeleteObjects. A name
// with no object is no error (S3 deletes are idempotent). The errors of all
// names are joined.
func (b *Bucket) Delete(ctx context.Context, names ...string) error {
	keys := make([]string, len(names))
	for i, n := range names {
		k, err := b.key("DeleteObjects", n)
		if err != nil {
			return err
		}
		keys[i] = k
	}
	var errs []error
	for start := 0; start < len(keys); start += pageSize {
		batch := keys[start:min(start+pageSize, len(keys))]
		if !b.noMultiDelete.Load() {
			err := b.deleteBatch(ctx, batch)
			if !errors.Is(err, ErrNotImplemented) {
				if err != nil {
					errs = append(errs, err)
				}
				continue
			}
			b.noMultiDelete.Store(true)
		}
		for _, k := range batch {
			if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.loc.Bucket, Key: &k}); err != nil {
				errs = append(errs, b.fail("DeleteObject", k, err))
			}
		}
	}
	return errors.Join(errs...)
}

// deleteBatch deletes up to 1000 keys in one request; the keys the server
// could not delete come back as their own errors.
func (b *Bucket) deleteBatch(ctx context.Context, keys []string) error {
	ids := make([]types.ObjectIdentifier, len(keys))
	for i := range keys {
		ids[i] = types.ObjectIdentifier{Key: &keys[i]}
	}
	out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: &b.loc.Bucket,
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		key := b.loc.Key("")
		if len(keys) == 1 {
			key = keys[0]
		}
		return b.fail("DeleteObjects", key, err)
	}
	var errs []error
	for _, e := range out.Errors {
		code := aws.ToString(e.Code)
		se := &Error{Op: "DeleteObjects", Bucket: b.loc.Bucket, Key: aws.ToString(e.Key), Kind: kindOf(code, 0)}
		if se.Kind == nil {
			se.Err = fmt.Errorf("server said %s: %s", code, aws.ToString(e.Message))
		} else {
			se.Err = fmt.Errorf("server said %s", code)
			b.explain(se, nil)
		}
		errs = append(errs, se)
	}
	return errors.Join(errs...)
}
