package s3pins_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/source/s3pins"
	"github.com/kwbauson/create-pin-refs/test/s3server"
)

const path1 = "/nix/store/00000000000000000000000000000001-hello"

func open(t *testing.T, srv *s3server.Server, url string) *s3bucket.Bucket {
	t.Helper()
	srv.Env(t)
	loc, err := s3bucket.ParseLocation(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s3bucket.Open(context.Background(), s3bucket.Options{Location: loc, Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRead: pins written by hand as niks3 writes them (a newline or not)
// are read under the prefix only, in name order; Write writes the same.
func TestRead(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "cache")
	ctx := context.Background()
	for key, body := range map[string]string{
		"nix/pins/hello.x86_64-linux": path1 + "\n",
		"nix/pins/tool":               "/nix/store/00000000000000000000000000000002-tool",
		"nix/pins/huge":               strings.Repeat("x", 5000),
		"nix/abc.narinfo":             "StorePath: x",
		"other/pins/not-these":        path1,
	} {
		if _, err := srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cache"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	b := open(t, srv, "s3://cache/nix")
	if err := s3pins.Write(ctx, b, "written", path1); err != nil {
		t.Fatal(err)
	}
	got, err := s3pins.Read(ctx, b, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []cachix.Pin{
		{Name: "hello.x86_64-linux", LastRevision: cachix.Revision{StorePath: path1}},
		// Too large to be a store path: a pin that pkg/pins names.
		{Name: "huge", LastRevision: cachix.Revision{StorePath: "(an object of more than 4096 bytes)"}},
		{Name: "tool", LastRevision: cachix.Revision{StorePath: "/nix/store/00000000000000000000000000000002-tool"}},
		{Name: "written", LastRevision: cachix.Revision{StorePath: path1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pins (-want +got):\n%s", diff)
	}
	if empty, err := s3pins.Read(ctx, open(t, srv, "s3://cache/none"), 100); err != nil || len(empty) != 0 {
		t.Errorf("no pins/ folder: %v, %v; want none, no error", empty, err)
	}
	if _, err := s3pins.Read(ctx, open(t, srv, "s3://nosuch/nix"), 100); !errors.Is(err, s3bucket.ErrNoBucket) {
		t.Errorf("a missing bucket: %v, want ErrNoBucket", err)
	}
}
