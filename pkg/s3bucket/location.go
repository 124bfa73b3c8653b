// Package s3bucket is the client of a place in an S3-compatible bucket
// (AWS S3, Cloudflare R2, Backblaze B2, MinIO, versitygw): names under one
// prefix read, written, listed and deleted, with typed errors that name the
// bucket, the key, the operation and the fix.
package s3bucket

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Location is a place in a bucket: s3://BUCKET or s3://BUCKET/PREFIX. A
// Bucket opened on it reads and writes names under PREFIX only.
type Location struct {
	Bucket string
	// Prefix is "" (the whole bucket) or slash-separated segments, with no
	// leading or trailing slash.
	Prefix string
}

// Reasons an s3:// URL is refused; a *LocationError wraps one of them.
var (
	ErrNotS3URL   = errors.New("not an s3://BUCKET[/PREFIX] URL")
	ErrBucketName = errors.New("bad bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit")
	ErrPrefix     = errors.New("bad prefix: no empty, \".\" or \"..\" segments, no white space or control characters, at most 512 bytes")
)

// LocationError is a refused s3:// URL.
type LocationError struct {
	URL string
	Err error
}

func (e *LocationError) Error() string { return fmt.Sprintf("%q: %v", e.URL, e.Err) }
func (e *LocationError) Unwrap() error { return e.Err }

// maxPrefix leaves room under S3's 1024-byte key limit for the names a
// publisher puts under the prefix.
const maxPrefix = 512

// ParseLocation accepts s3://BUCKET and s3://BUCKET/PREFIX (a trailing slash
// is dropped). No credentials, port, query or fragment: region and endpoint
// are given apart, as the AWS CLI takes them.
func ParseLocation(raw string) (Location, error) {
	fail := func(err error) (Location, error) { return Location{}, &LocationError{URL: raw, Err: err} }
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok || strings.ContainsAny(rest, "?#@") {
		return fail(ErrNotS3URL)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !validBucket(bucket) {
		return fail(ErrBucketName)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" && (len(prefix) > maxPrefix || validName(prefix) != nil) {
		return fail(ErrPrefix)
	}
	return Location{Bucket: bucket, Prefix: prefix}, nil
}

func (l Location) String() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

// Key is the object key of name under the prefix; Key("") is the prefix
// itself with a trailing slash (or "" for the whole bucket), as a listing
// needs so that prefix "a" never matches "ab/…".
func (l Location) Key(name string) string {
	if l.Prefix == "" {
		return name
	}
	return l.Prefix + "/" + name
}

// Name is the name of key under the prefix, and whether key is under it.
func (l Location) Name(key string) (string, bool) {
	if l.Prefix == "" {
		return key, true
	}
	return strings.CutPrefix(key, l.Prefix+"/")
}

// URL is the s3:// URL of name, for messages.
func (l Location) URL(name string) string {
	return "s3://" + l.Bucket + "/" + l.Key(name)
}

// validBucket follows the general-purpose bucket naming rules that AWS, R2,
// B2 and MinIO share, without the rarer ones (no IP-address form and so on:
// such a name fails at the server with a clear code).
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || !alnum(b[0]) || !alnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !alnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// ErrName is a name that would leave the prefix or make an odd key.
var ErrName = errors.New("bad object name: slash-separated segments, none empty, \".\" or \"..\", without white space or control characters")

// validName checks a name relative to a prefix: segments that cannot climb
// out of it or alias another key on servers that map keys to files.
func validName(n string) error {
	if n == "" || strings.ContainsFunc(n, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' || r == unicode.ReplacementChar
	}) {
		return ErrName
	}
	for seg := range strings.SplitSeq(n, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return ErrName
		}
	}
	return nil
}
