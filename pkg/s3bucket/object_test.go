package s3bucket

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// What Put writes, Get and Head read back, under the prefix and nowhere
// else.
func TestPutGetHead(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	b := openAt(t, srv, Location{Bucket: "site", Prefix: "pub/v1"}, nil)

	meta := map[string]string{"link": `<https://example.test/p/x-abc.tar.gz>; rel="immutable"`}
	etag, err := b.Put(ctx, "p/x.tar.gz", []byte("bundle"), PutOptions{
		ContentType: "application/gzip", CacheControl: "max-age=60", Metadata: meta,
	})
	if err != nil {
		t.Fatal(err)
	}
	if etag == "" {
		t.Error("Put returned no ETag")
	}

	// The key is under the prefix, as the server's own client sees it.
	out, err := srv.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("pub/v1/p/x.tar.gz")})
	if err != nil {
		t.Fatalf("the object is not at pub/v1/p/x.tar.gz: %v", err)
	}
	raw, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(raw) != "bundle" {
		t.Errorf("stored body %q, want %q", raw, "bundle")
	}

	want := Object{Body: []byte("bundle"), Size: 6, ETag: etag, ContentType: "application/gzip", CacheControl: "max-age=60", Metadata: meta}
	got, err := b.Get(ctx, "p/x.tar.gz", 6)
	if err != nil {
		t.Fatal(err)
	}
	// Both by the server's clock, which is this machine's.
	for what, at := range map[string]time.Time{"LastModified": got.LastModified, "Date": got.Date} {
		if d := time.Since(at); d < -2*time.Second || d > time.Minute {
			t.Errorf("Get: %s %s, want about now", what, at)
		}
	}
	// Each is whole seconds, rounded as the server likes: a second apart
	// at most, either way.
	if d := got.Date.Sub(got.LastModified); d < -time.Second || d > 5*time.Second {
		t.Errorf("Get: Date %s, LastModified %s: want them about the same", got.Date, got.LastModified)
	}
	got.LastModified, got.Date = time.Time{}, time.Time{}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
	want.Body = nil
	head, err := b.Head(ctx, "p/x.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, head); d != "" {
		t.Errorf("Head (-want +got):\n%s", d)
	}
}

func TestGetLimit(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	b := openAt(t, srv, Location{Bucket: "site"}, nil)
	if _, err := b.Put(ctx, "big", []byte(strings.Repeat("x", 100)), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit int64
		want  error
	}{{100, nil}, {1000, nil}, {99, ErrTooLarge}, {0, ErrTooLarge}} {
		got, err := b.Get(ctx, "big", tc.limit)
		if !errors.Is(err, tc.want) {
			t.Errorf("Get(limit %d) = %v, want %v", tc.limit, err, tc.want)
		}
		if tc.want == nil && len(got.Body) != 100 {
			t.Errorf("Get(limit %d) read %d bytes, want 100", tc.limit, len(got.Body))
		}
	}
}

// Conditional writes: versitygw v1.8.0 honours If-Match and
// If-None-Match: * on PutObject, as AWS, R2 and MinIO do.
func TestPutConditional(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	b := openAt(t, srv, Location{Bucket: "site", Prefix: "x"}, nil)

	first, err := b.Put(ctx, "pins.json", []byte("1"), PutOptions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatalf("If-None-Match: * on a new object: %v", err)
	}
	if _, err := b.Put(ctx, "pins.json", []byte("2"), PutOptions{IfNoneMatch: "*"}); !errors.Is(err, ErrPrecondition) {
		t.Errorf("If-None-Match: * on an existing object = %v, want ErrPrecondition", err)
	}
	second, err := b.Put(ctx, "pins.json", []byte("2"), PutOptions{IfMatch: first})
	if err != nil {
		t.Fatalf("If-Match with the current ETag: %v", err)
	}
	// The first writer's ETag is stale now: its write loses.
	_, err = b.Put(ctx, "pins.json", []byte("3"), PutOptions{IfMatch: first})
	var se *Error
	if !errors.Is(err, ErrPrecondition) || !errors.As(err, &se) || se.Op != "PutObject" || se.Bucket != "site" || se.Key != "x/pins.json" {
		t.Errorf("If-Match with a stale ETag = %#v, want an *Error of PutObject site x/pins.json wrapping ErrPrecondition", err)
	}
	// An object deleted since it was read loses the race too.
	if _, err := b.Put(ctx, "gone", []byte("3"), PutOptions{IfMatch: second}); !errors.Is(err, ErrPrecondition) {
		t.Errorf("If-Match on a missing object = %v, want ErrPrecondition", err)
	}
	got, err := b.Get(ctx, "pins.json", 10)
	if err != nil || string(got.Body) != "2" || got.ETag != second {
		t.Errorf("after the races: %q %s, %v; want %q %s", got.Body, got.ETag, err, "2", second)
	}
}

// Names that would leave the prefix or make odd keys are refused before
// any request.
func TestBadNames(t *testing.T) {
	b := &Bucket{loc: Location{Bucket: "site", Prefix: "pub"}}
	ctx := context.Background()
	for _, name := range []string{"", "../other", "a//b", "/abs", "p/", strings.Repeat("n", 1021)} {
		if _, err := b.Get(ctx, name, 1); !errors.Is(err, ErrName) {
			t.Errorf("Get(%q) = %v, want ErrName", name, err)
		}
		if _, err := b.Head(ctx, name); !errors.Is(err, ErrName) {
			t.Errorf("Head(%q) = %v, want ErrName", name, err)
		}
		if _, err := b.Put(ctx, name, nil, PutOptions{}); !errors.Is(err, ErrName) {
			t.Errorf("Put(%q) = %v, want ErrName", name, err)
		}
		if err := b.Delete(ctx, "ok", name); !errors.Is(err, ErrName) {
			t.Errorf("Delete(%q) = %v, want ErrName", name, err)
		}
		if name != "" {
			if _, err := b.List(ctx, name, 1); !errors.Is(err, ErrName) {
				t.Errorf("List(%q) = %v, want ErrName", name, err)
			}
		}
	}
	for _, m := range []map[string]string{{"Link": "x"}, {"a b": "x"}, {"": "x"}, {"link": "é"}, {"link": "a\nb"}} {
		if _, err := b.Put(ctx, "ok", nil, PutOptions{Metadata: m}); !errors.Is(err, ErrMetadata) {
			t.Errorf("Put(metadata %q) = %v, want ErrMetadata", m, err)
		}
	}
}
