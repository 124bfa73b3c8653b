package s3bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Object is an object read back, or its headers alone (Head).
type Object struct {
	Body []byte
	// Size is the object's length in bytes.
	Size int64
	// ETag is as the server sends it, quotes included: give it back as
	// PutOptions.IfMatch.
	ETag         string
	ContentType  string
	CacheControl string
	// Metadata holds the x-amz-meta-* headers, by lower-case name without
	// the prefix.
	Metadata map[string]string
	// LastModified is when the object was written, and Date when the
	// server answered, both by the server's clock (zero: not sent).
	LastModified, Date time.Time
}

// serverDate is the Date header of the answer that md came with.
func serverDate(md middleware.Metadata) time.Time {
	if raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		if d, err := http.ParseTime(raw.Header.Get("Date")); err == nil {
			return d
		}
	}
	return time.Time{}
}

// PutOptions are the headers of a Put.
type PutOptions struct {
	ContentType  string
	CacheControl string
	// Metadata becomes x-amz-meta-NAME headers, served back on every GET
	// (Nix reads x-amz-meta-link as it reads Link). Names are lower-case
	// letters, digits and hyphens; values printable ASCII.
	Metadata map[string]string
	// IfMatch writes only over the object with this ETag; IfNoneMatch "*"
	// writes only if there is no object. A lost race is ErrPrecondition.
	IfMatch     string
	IfNoneMatch string
}

// ErrMetadata is a metadata name or value S3 would refuse or mangle.
var ErrMetadata = errors.New("bad metadata: names of lower-case letters, digits and hyphens; values of printable ASCII")

// key is the object key of name, checked.
func (b *Bucket) key(op, name string) (string, error) {
	key := b.loc.Key(name)
	if err := validName(name); err != nil || len(key) > 1024 {
		return "", &Error{Op: op, Bucket: b.loc.Bucket, Key: key, Kind: ErrName, Detail: fmt.Sprintf("name %q", name)}
	}
	return key, nil
}

// Get reads the object name whole, if it is at most limit bytes; a larger
// one is ErrTooLarge, read no further than limit+1 bytes.
func (b *Bucket) Get(ctx context.Context, name string, limit int64) (Object, error) {
	key, err := b.key("GetObject", name)
	if err != nil {
		return Object{}, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.loc.Bucket, Key: &key})
	if err != nil {
		return Object{}, b.fail("GetObject", key, err)
	}
	defer out.Body.Close()
	tooLarge := func(size string) error {
		return &Error{Op: "GetObject", Bucket: b.loc.Bucket, Key: key, Kind: ErrTooLarge,
			Detail: fmt.Sprintf("%s bytes, over the limit of %d", size, limit)}
	}
	n := aws.ToInt64(out.ContentLength)
	if n > limit {
		return Object{}, tooLarge(fmt.Sprint(n))
	}
	body, err := readAll(io.LimitReader(out.Body, limit+1), n)
	if err != nil {
		return Object{}, &Error{Op: "GetObject", Bucket: b.loc.Bucket, Key: key, Err: fmt.Errorf("reading the body: %w", err)}
	}
	if int64(len(body)) > limit {
		return Object{}, tooLarge("more than " + fmt.Sprint(limit))
	}
	return Object{
		Body: body, Size: int64(len(body)), ETag: aws.ToString(out.ETag),
		ContentType: aws.ToString(out.ContentType), CacheControl: aws.ToString(out.CacheControl),
		Metadata: lower(out.Metadata), LastModified: aws.ToTime(out.LastModified), Date: serverDate(out.ResultMetadata),
	}, nil
}

// Head reads the headers of the object name.
func (b *Bucket) Head(ctx context.Context, name string) (Object, error) {
	key, err := b.key("HeadObject", name)
	if err != nil {
		return Object{}, err
	}
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.loc.Bucket, Key: &key})
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() != http.StatusNotFound {
			// A HEAD answer has no body, so no error code: a refused
			// signature and a denied action are both a bare 403. Ask again
			// with a GET of one byte, whose answer says which.
			_, gerr := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.loc.Bucket, Key: &key, Range: aws.String("bytes=0-0")})
			var ae smithy.APIError
			if errors.As(gerr, &ae) {
				err = gerr
			}
		}
		return Object{}, b.fail("HeadObject", key, err)
	}
	return Object{
		Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag),
		ContentType: aws.ToString(out.ContentType), CacheControl: aws.ToString(out.CacheControl),
		Metadata: lower(out.Metadata),
	}, nil
}

// Put writes body as the object name in one request, and returns its new
// ETag.
func (b *Bucket) Put(ctx context.Context, name string, body []byte, o PutOptions) (string, error) {
	key, err := b.key("PutObject", name)
	if err != nil {
		return "", err
	}
	for k, v := range o.Metadata {
		if !metaName(k) || !metaValue(v) {
			return "", &Error{Op: "PutObject", Bucket: b.loc.Bucket, Key: key, Kind: ErrMetadata, Detail: fmt.Sprintf("%q: %q", k, v)}
		}
	}
	in := &s3.PutObjectInput{
		Bucket: &b.loc.Bucket, Key: &key,
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentType: optional(o.ContentType), CacheControl: optional(o.CacheControl),
		Metadata: o.Metadata, IfMatch: optional(o.IfMatch), IfNoneMatch: optional(o.IfNoneMatch),
	}
	out, err := b.client.PutObject(ctx, in)
	if err != nil {
		e := b.fail("PutObject", key, err)
		var se *Error
		if errors.As(e, &se) && o.IfMatch != "" && se.Kind == ErrNotFound {
			// The object read before is gone: the race is lost all the same.
			se.Kind, se.Detail = ErrPrecondition, "the object was deleted since it was read"
		}
		return "", e
	}
	return aws.ToString(out.ETag), nil
}

// optional is s, or no header for "".
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// lower keys the metadata by lower-case name: servers differ in the case
// they send back.
func lower(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	l := make(map[string]string, len(m))
	for k, v := range m {
		l[strings.ToLower(k)] = v
	}
	return l
}

func metaName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !alnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func metaValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			return false
		}
	}
	return true
}

// readAll is io.ReadAll into a buffer made for size bytes (its
// Content-Length; 0 when unknown), and one more to see the end: a 25 MB
// pins.json is read without growing the buffer two dozen times.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			// Longer than it said: read on as io.ReadAll does.
			rest, err := io.ReadAll(r)
			return append(b, rest...), err
		}
	}
}
