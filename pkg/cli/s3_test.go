package cli

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kwbauson/create-pin-refs/pkg/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/verdicts"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// objectsOf lists a bucket's objects with their ETags and times, to see
// whether a publish wrote any.
func objectsOf(t *testing.T, srv *s3server.Server, bucket string) map[string]string {
	t.Helper()
	out, err := srv.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range out.Contents {
		m[aws.ToString(o.Key)] = aws.ToString(o.ETag) + " " + aws.ToTime(o.LastModified).String()
	}
	return m
}

// TestS3Mode: s3 mode publishes the site to a bucket prefix from a fresh
// --out each time, as a CI runner does, reusing the verdicts the prefix's
// pins.json records; the same pins write no object, a moved pin writes
// what changed, and the mutable tarballs link their immutable copy.
func TestS3Mode(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "pins")
	srv.AllowAnonymousRead(t, "pins")
	srv.Env(t)
	f := newIncrFixture(t)
	base := srv.ObjectURL("pins", "site/")
	args := []string{"--mode", "s3", "--s3-url", "s3://pins/site", "--s3-endpoint", srv.URL, "--site-url", base}
	fresh := func() string { return filepath.Join(t.TempDir(), "site") }

	log, _ := f.publish(t, fresh(), t0, args...)
	wantLog(t, log, "notice: verification: no verdicts to reuse from s3://pins/site", "published to s3://pins/site (")
	resp, err := http.Get(base + "pins")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	link := resp.Header.Get("X-Amz-Meta-Link")
	m := regexp.MustCompile(`^<(` + regexp.QuoteMeta(base) + `b/[0-9a-z]+\.tar\.gz)\?narHash=sha256-[^>]+>; rel="immutable"$`).FindStringSubmatch(link)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET %spins: %d, x-amz-meta-link %q; want 200 and the immutable bundle's URL", base, resp.StatusCode, link)
	}
	if resp, err := http.Head(m[1]); err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("HEAD %s: %v %v, want 200, immutable", m[1], resp, err)
	}

	before := objectsOf(t, srv, "pins")
	log, n := f.publish(t, fresh(), t0.Add(time.Hour), args...)
	wantLog(t, log, "reused 13 verdicts from s3://pins/site (", "already holds this site: nothing written", "changed: false")
	if n != verdicts.Sample {
		t.Errorf("the same pins: %d narinfo requests, want %d", n, verdicts.Sample)
	}
	if after := objectsOf(t, srv, "pins"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the same pins rewrote objects:\nbefore %v\nafter  %v", before, after)
	}

	moved := append([]cachix.Pin{}, f.pins...)
	moved[3] = incrPin("p3", fakecachix.StorePath("moved"))
	f.srv.SetPins("demo", moved)
	log, _ = f.publish(t, fresh(), t0.Add(2*time.Hour), args...)
	wantLog(t, log, "reused 12 verdicts from s3://pins/site (", "walked 1 closures", "published to s3://pins/site (", "changed: true")
}
