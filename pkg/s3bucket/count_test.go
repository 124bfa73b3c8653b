package s3bucket

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// What callers may count on: one request per Get, Head and Put, per List
// of up to 1000 names and per Delete of up to 1000.
func TestRequestCounts(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	c := newCounter()
	b := openAt(t, srv, Location{Bucket: "site", Prefix: "pub"}, &http.Client{Transport: c})
	c.take() // Open itself sends nothing, but that is not the point here

	names := make([]string, 999)
	for i := range names {
		names[i] = fmt.Sprintf("p/n%04d", i)
	}
	steps := []struct {
		name string
		do   func() error
		want map[string]int
	}{
		{"Put", func() error {
			_, err := b.Put(ctx, "pins.json", []byte("{}"), PutOptions{ContentType: "application/json", IfNoneMatch: "*"})
			return err
		}, map[string]int{"PUT": 1}},
		{"Get", func() error { _, err := b.Get(ctx, "pins.json", 10); return err }, map[string]int{"GET": 1}},
		{"Head", func() error { _, err := b.Head(ctx, "pins.json"); return err }, map[string]int{"HEAD": 1}},
		{"Head of a missing name", func() error {
			if _, err := b.Head(ctx, "missing"); err == nil {
				return fmt.Errorf("found")
			}
			return nil
		}, map[string]int{"HEAD": 1}},
		{"fill", func() error { return putAll(t, srv, "site", "pub/", names) }, map[string]int{}},
		{"List of 999", func() error {
			got, err := b.List(ctx, "p", 10_000)
			if err == nil && len(got) != len(names) {
				err = fmt.Errorf("listed %d, want %d", len(got), len(names))
			}
			return err
		}, map[string]int{"GET": 1}},
		{"List of 1000", func() error {
			got, err := b.List(ctx, "", 10_000)
			if err == nil && len(got) != len(names)+1 {
				err = fmt.Errorf("listed %d, want %d", len(got), len(names)+1)
			}
			return err
		}, map[string]int{"GET": 1}},
		{"Delete of 1000", func() error { return b.Delete(ctx, append(names, "pins.json")...) }, map[string]int{"POST": 1}},
		{"List of none", func() error {
			got, err := b.List(ctx, "", 10)
			if err == nil && len(got) != 0 {
				err = fmt.Errorf("listed %d after the delete, want 0", len(got))
			}
			return err
		}, map[string]int{"GET": 1}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if d := cmp.Diff(s.want, c.take()); d != "" {
			t.Errorf("%s: requests by method (-want +got):\n%s", s.name, d)
		}
	}
}

// headers records the headers of each request, by method, and its URL
// without the query.
type headers struct {
	mu   sync.Mutex
	seen map[string][]http.Header
	urls []string
}

func (h *headers) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen[r.Method] = append(h.seen[r.Method], r.Header.Clone())
	h.urls = append(h.urls, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// No checksum beyond what S3 requires: the SDK's default CRC32 trailer on
// uploads (aws-chunked bodies) and checksum mode on downloads are what R2
// and some MinIO and B2 set-ups refuse.
func TestNoDefaultChecksums(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	h := &headers{seen: map[string][]http.Header{}}
	b := openAt(t, srv, Location{Bucket: "site"}, &http.Client{Transport: h})
	if _, err := b.Put(ctx, "pins.json", []byte("{}"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "pins.json", 10); err != nil {
		t.Fatal(err)
	}
	for method, hs := range h.seen {
		for _, hdr := range hs {
			for name := range hdr {
				if n := strings.ToLower(name); strings.HasPrefix(n, "x-amz-checksum") || n == "x-amz-trailer" ||
					n == "x-amz-sdk-checksum-algorithm" || n == "content-encoding" {
					t.Errorf("%s sent %s: %q", method, name, hdr.Values(name))
				}
			}
		}
	}
	if len(h.seen["PUT"]) != 1 || len(h.seen["GET"]) != 1 {
		t.Errorf("requests %v, want one PUT and one GET", h.seen)
	}
}
