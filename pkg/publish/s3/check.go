package s3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
)

// maxListed bounds the objects a check lists under the prefix.
const maxListed = 10_000_000

// staleOf lists the prefix and returns, in order, the names the marker
// lists whose object is gone or does not hold what the marker says (deleted
// or written over by hand, or by a publish stopped halfway): an object's
// ETag is the MD5 of its content when written whole, as a publish writes
// it. A server whose ETags are something else (SSE-KMS on AWS) makes every
// name stale: all are written again.
func staleOf(ctx context.Context, b Bucket, listed map[string]string) ([]string, error) {
	entries, err := b.List(ctx, "", maxListed)
	if err != nil {
		return nil, err
	}
	now := make(map[string]string, len(entries))
	for _, e := range entries {
		now[e.Name] = etagSum(e.ETag)
	}
	var out []string
	for name, sum := range listed {
		if now[name] != sum {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// etagSum is an ETag as the marker writes sums ("": not an MD5).
func etagSum(etag string) string {
	raw, err := hex.DecodeString(strings.Trim(etag, `"`))
	if err != nil || len(raw) != 16 {
		return ""
	}
	return base64.RawStdEncoding.EncodeToString(raw)
}
