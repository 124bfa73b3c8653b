package s3bucket

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// The headers a publisher sets are what a plain anonymous GET of a public
// bucket serves: Nix reads x-amz-meta-link as it reads Link, to lock an
// immutable URL.
func TestPublicHeaders(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	srv.AllowAnonymousRead(t, "site")
	ctx := context.Background()
	b := openAt(t, srv, Location{Bucket: "site", Prefix: "pub"}, nil)
	link := `<http://127.0.0.1/pub/p/x-0123abcd.tar.gz>; rel="immutable"`
	if _, err := b.Put(ctx, "pins.tar.gz", []byte("bundle"), PutOptions{
		ContentType: "application/gzip", CacheControl: "public, max-age=300", Metadata: map[string]string{"link": link},
	}); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get(srv.ObjectURL("site", "pub/pins.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "bundle" {
		t.Fatalf("anonymous GET: %s %q", resp.Status, body)
	}
	for h, want := range map[string]string{
		"X-Amz-Meta-Link": link,
		"Content-Type":    "application/gzip",
		"Cache-Control":   "public, max-age=300",
	} {
		if got := resp.Header.Values(h); len(got) != 1 || got[0] != want {
			t.Errorf("anonymous GET: %s = %q, want %q", h, got, want)
		}
	}
}
