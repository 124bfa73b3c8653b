package s3bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// List sees the names under the prefix (and the folder asked), never a key
// beside it that merely starts the same.
func TestListUnderPrefix(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	if err := putAll(t, srv, "site", "", []string{
		"pub/pins.json", "pub/p/a.tar.gz", "pub/p/b.tar.gz", "pub/px/c", "pubx/d", "other", "pub-e",
	}); err != nil {
		t.Fatal(err)
	}
	b := openAt(t, srv, Location{Bucket: "site", Prefix: "pub"}, nil)
	names := func(under string) []string {
		t.Helper()
		entries, err := b.List(ctx, under, 100)
		if err != nil {
			t.Fatalf("List(%q): %v", under, err)
		}
		var ns []string
		for _, e := range entries {
			if e.Size != 0 || e.ETag == "" {
				t.Errorf("List(%q): %+v, want size 0 and an ETag", under, e)
			}
			ns = append(ns, e.Name)
		}
		return ns
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if d := cmp.Diff([]string{"p/a.tar.gz", "p/b.tar.gz", "pins.json", "px/c"}, names(""), sorted); d != "" {
		t.Errorf(`List("") (-want +got):\n%s`, d)
	}
	if d := cmp.Diff([]string{"p/a.tar.gz", "p/b.tar.gz"}, names("p"), sorted); d != "" {
		t.Errorf(`List("p") (-want +got):\n%s`, d)
	}
	if got := names("none"); len(got) != 0 {
		t.Errorf(`List("none") = %q, want nothing`, got)
	}
}

// More than a page: the listing follows continuation tokens, and stops at
// the limit.
func TestListPages(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	names := make([]string, 1001)
	for i := range names {
		names[i] = fmt.Sprintf("n%05d", i)
	}
	if err := putAll(t, srv, "site", "pub/", names); err != nil {
		t.Fatal(err)
	}
	c := newCounter()
	b := openAt(t, srv, Location{Bucket: "site", Prefix: "pub"}, &http.Client{Transport: c})
	got, err := b.List(ctx, "", 1001)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range got {
		listed = append(listed, e.Name)
	}
	if d := cmp.Diff(names, listed); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
	if n := c.take(); n["GET"] != 2 {
		t.Errorf("List of 1001 sent %v, want 2 GETs", n)
	}
	for _, limit := range []int{0, 999, 1000} {
		if _, err := b.List(ctx, "", limit); !errors.Is(err, ErrTooMany) {
			t.Errorf("List(limit %d) of 1001 = %v, want ErrTooMany", limit, err)
		}
		// It stops at the first page past the limit.
		if n, want := c.take()["GET"], limit/1000+1; n != want {
			t.Errorf("List(limit %d) of 1001 sent %d GETs, want %d", limit, n, want)
		}
	}

	// Delete: one request per 1000, and every name gone.
	if err := b.Delete(ctx, names...); err != nil {
		t.Fatal(err)
	}
	if n := c.take(); n["POST"] != 2 || len(n) != 1 {
		t.Errorf("Delete of 1001 sent %v, want 2 POSTs", n)
	}
	if got, err := b.List(ctx, "", 10); err != nil || len(got) != 0 {
		t.Errorf("after Delete: %d names, %v", len(got), err)
	}
}

// notImplemented answers DeleteObjects (POST ?delete) as a server without
// it does, and passes the rest on.
type notImplemented struct{ next http.RoundTripper }

func (n notImplemented) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !r.URL.Query().Has("delete") {
		return n.next.RoundTrip(r)
	}
	body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A header or query you provided implies functionality that is not implemented.</Message></Error>`
	return &http.Response{
		StatusCode: http.StatusNotImplemented, Status: "501 Not Implemented", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/xml"}},
		Body:    io.NopCloser(strings.NewReader(body)),
		Request: r, ContentLength: int64(len(body)),
	}, nil
}

// A server without DeleteObjects gets one DeleteObject per name, at once
// from the second Delete on.
func TestDeleteOneByOne(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	if err := putAll(t, srv, "site", "pub/", []string{"a", "b", "c", "keep"}); err != nil {
		t.Fatal(err)
	}
	c := newCounter()
	c.next = notImplemented{next: http.DefaultTransport}
	b := openAt(t, srv, Location{Bucket: "site", Prefix: "pub"}, &http.Client{Transport: c})

	if err := b.Delete(ctx, "a", "b", "missing"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int{"POST": 1, "DELETE": 3}, c.take()); d != "" {
		t.Errorf("first Delete: requests (-want +got):\n%s", d)
	}
	if err := b.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int{"DELETE": 1}, c.take()); d != "" {
		t.Errorf("second Delete: requests (-want +got):\n%s", d)
	}
	out, err := srv.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("site")})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, o := range out.Contents {
		left = append(left, aws.ToString(o.Key))
	}
	if d := cmp.Diff([]string{"pub/keep"}, left); d != "" {
		t.Errorf("left (-want +got):\n%s", d)
	}
}
