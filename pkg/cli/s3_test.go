package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
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
	wantLog(t, log, "notice: verification: no verdicts to reuse from s3://pins/site", "published to s3://pins/site (",
		"notice: no pins.json at s3://pins/site (", "changed: true (a first publish: no pins.json at s3://pins/site (")
	if n := strings.Count(log, "NoSuchKey"); n != 1 {
		t.Errorf("a first publish says why there is no pins.json %d times, want once:\n%s", n, log)
	}
	if strings.Contains(log, "consumers c") || strings.Contains(log, "does not serve this publish") {
		t.Errorf("a warning that %s, which serves the site, does not:\n%s", base, log)
	}
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
	wantLog(t, log, "reused 12 verdicts from s3://pins/site (", "walked 1 closure", "published to s3://pins/site (", "changed: true")

	// An object deleted by hand comes back with --reverify only.
	if _, err := srv.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("pins"), Key: aws.String("site/index.html")}); err != nil {
		t.Fatal(err)
	}
	log, _ = f.publish(t, fresh(), t0.Add(3*time.Hour), args...)
	wantLog(t, log, "already holds this site: nothing written")
	log, _ = f.publish(t, fresh(), t0.Add(3*time.Hour), append(args, "--reverify")...)
	wantLog(t, log, "listed s3://pins/site (", "1 object gone or holding other content (deleted or written over by hand, or by a publish stopped midway), written again: index.html")
	if resp, err := http.Get(base + "index.html"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %sindex.html after --reverify: %v %v, want 200", base, resp, err)
	} else {
		resp.Body.Close()
	}

	// index.html written over by hand is read as the previous site's, and
	// written again without --reverify.
	if _, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("pins"), Key: aws.String("site/index.html"), Body: strings.NewReader("defaced")}); err != nil {
		t.Fatal(err)
	}
	log, _ = f.publish(t, fresh(), t0.Add(4*time.Hour), args...)
	wantLog(t, log, "published to s3://pins/site (", "1 object written (", "changed: true")
	if resp, err := http.Get(base + "index.html"); err != nil {
		t.Error(err)
	} else if body, _ := io.ReadAll(resp.Body); resp.Body.Close() == nil && string(body) == "defaced" {
		t.Errorf("index.html written over by hand stays so: %q", body)
	}
}

// getsOf records the GET requests a run sends to one host through the S3
// API (signed: the check of the site as consumers read it is not).
type getsOf struct {
	host string
	mu   sync.Mutex
	keys []string
}

func (g *getsOf) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Host == g.host && req.Header.Get("Authorization") != "" {
		g.mu.Lock()
		g.keys = append(g.keys, req.URL.Path)
		g.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestS3ModeReadsOnce: what s3 mode keeps to put back after a failure does
// not read again what the round read of the previous site: pins.json and
// index.html are each read once in a republish that writes over them.
func TestS3ModeReadsOnce(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "pins")
	srv.Env(t)
	f := newIncrFixture(t)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	publish := func() []string {
		t.Helper()
		gets := &getsOf{host: u.Host}
		var stderr strings.Builder
		code := Main(context.Background(), []string{"--cache", "demo", "--cachix-url", f.srv.URL(), "--upstream", f.srv.CacheURL("up"),
			"--mode", "s3", "--s3-url", "s3://pins/site", "--s3-endpoint", srv.URL, "--site-url", srv.ObjectURL("pins", "site/"), "--out", filepath.Join(t.TempDir(), "site")},
			Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: &stderr, Version: "test", HTTPClient: &http.Client{Transport: gets}})
		if code != ExitOK {
			t.Fatalf("exit %d:\n%s", code, &stderr)
		}
		return gets.keys
	}
	publish()
	moved := append([]cachix.Pin{}, f.pins...)
	moved[3] = incrPin("p3", fakecachix.StorePath("moved"))
	f.srv.SetPins("demo", moved)
	keys := publish()
	for _, name := range []string{"pins.json", "index.html"} {
		if n := slices.Index(keys, "/pins/site/"+name); n < 0 || slices.Index(keys[n+1:], "/pins/site/"+name) >= 0 {
			t.Errorf("GET /pins/site/%s not once in %v", name, keys)
		}
	}
	if !slices.Contains(keys, "/pins/site/pins") {
		t.Errorf("the mutable tarball pins was not read to put back: %v", keys)
	}
}

// TestS3ModeFailures: a missing bucket, refused credentials and a user who
// may read but not write fail the run with what to fix, never show the
// secret, and leave the published site as it was.
func TestS3ModeFailures(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "pins")
	srv.Env(t)
	f := newIncrFixture(t)
	args := func(bucket string) []string {
		return []string{"--cache", "demo", "--cachix-url", f.srv.URL(), "--upstream", f.srv.CacheURL("up"), "--verify", "fail",
			"--mode", "s3", "--s3-url", "s3://" + bucket + "/site", "--s3-endpoint", srv.URL, "--site-url", srv.ObjectURL(bucket, "site/")}
	}
	out := func() string { return filepath.Join(t.TempDir(), "site") }
	if o := runCmd(t, nil, append(args("pins"), "--out", out())...); o.code != ExitOK {
		t.Fatalf("first publish: exit %d:\n%s", o.code, o.stderr)
	}
	published := objectsOf(t, srv, "pins")
	moved := append([]cachix.Pin{}, f.pins...)
	moved[3] = incrPin("p3", fakecachix.StorePath("moved"))
	f.srv.SetPins("demo", moved)

	reader, readerSecret := srv.CreateUser(t)
	srv.SetPolicy(t, "pins", map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect": "Allow", "Principal": map[string]any{"AWS": []string{reader}},
			"Action":   []string{"s3:GetObject", "s3:ListBucket"},
			"Resource": []string{"arn:aws:s3:::pins", "arn:aws:s3:::pins/*"},
		}},
	})
	for _, tt := range []struct {
		name   string
		bucket string
		env    map[string]string
		secret string // must not be shown
		want   []string
		// early: the run stops when it reads the prefix, before the pins.
		early bool
	}{
		{"no such bucket", "nope", nil, srv.SecretKey, []string{"s3://nope", "no such bucket", "--s3-url"}, true},
		{"a wrong secret", "pins", map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong-secret-5678"}, "wrong-secret-5678", []string{"AWS_SECRET_ACCESS_KEY"}, true},
		{"a user who may not write", "pins", map[string]string{"AWS_ACCESS_KEY_ID": reader, "AWS_SECRET_ACCESS_KEY": readerSecret}, readerSecret, []string{"access denied", "s3:PutObject"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o := runCmd(t, nil, append(args(tt.bucket), "--out", out())...)
			if o.code != ExitError {
				t.Fatalf("exit %d, want %d:\n%s", o.code, ExitError, o.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(o.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, o.stderr)
				}
			}
			if strings.Contains(o.stderr+o.stdout, tt.secret) {
				t.Errorf("the output shows the secret:\n%s", o.stderr)
			}
			if read := strings.Contains(o.stderr, "reading pins of demo"); read == tt.early {
				t.Errorf("the pins read: %t, want %t:\n%s", read, !tt.early, o.stderr)
			}
			if now := objectsOf(t, srv, "pins"); fmt.Sprint(now) != fmt.Sprint(published) {
				t.Errorf("the published site changed:\nbefore %v\nafter  %v", published, now)
			}
		})
	}
}

// beforeFirstPut runs once, before the first PUT to host goes out.
type beforeFirstPut struct {
	host string
	once sync.Once
	run  func()
}

func (b *beforeFirstPut) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && r.URL.Host == b.host {
		b.once.Do(b.run)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestS3ModeRace: another publish writes the prefix after this run read its
// marker: the run loses the compare-and-swap, reads the pins again and
// publishes on top, so the prefix ends with the later pins and neither
// publish's bundle is lost.
func TestS3ModeRace(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "pins")
	srv.Env(t)
	f := newIncrFixture(t)
	args := []string{"--cache", "demo", "--cachix-url", f.srv.URL(), "--upstream", f.srv.CacheURL("up"), "--verify", "fail",
		"--mode", "s3", "--s3-url", "s3://pins/site", "--s3-endpoint", srv.URL, "--site-url", srv.ObjectURL("pins", "site/")}
	moved := append([]cachix.Pin{}, f.pins...)
	moved[3] = incrPin("p3", fakecachix.StorePath("moved"))
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	other := &beforeFirstPut{host: u.Host, run: func() {
		// The other publish reads the pins before they move, and wins.
		if o := runCmd(t, nil, append(args, "--out", filepath.Join(t.TempDir(), "site"))...); o.code != ExitOK {
			t.Errorf("the other publish: exit %d:\n%s", o.code, o.stderr)
		}
		f.srv.SetPins("demo", moved)
	}}
	var stderr strings.Builder
	code := Main(context.Background(), append(args, "--out", filepath.Join(t.TempDir(), "site")), Env{
		Getenv: func(string) string { return "" }, Stdout: &strings.Builder{}, Stderr: &stderr, Version: "test",
		HTTPClient: &http.Client{Transport: other},
	})
	if code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, &stderr)
	}
	wantLog(t, stderr.String(), "another publish wrote the prefix since this one read it", "reading the pins again", "published to s3://pins/site (")
	resp, err := srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("pins"), Key: aws.String("site/pins.json")})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Pins []struct {
			StorePath string `json:"storePath"`
		} `json:"pins"`
		Bundles []struct{ Path string } `json:"bundles"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range m.Pins {
		found = found || p.StorePath == fakecachix.StorePath("moved")
	}
	if !found || len(m.Bundles) != 2 {
		t.Errorf("the prefix's pins.json: moved pin %v, %d bundles; want the moved pin, this publish's bundle and the other's", found, len(m.Bundles))
	}
}

// putCache copies a binary cache's files (its narinfo files) into the
// bucket under prefix, as `nix copy --to s3://BUCKET/PREFIX` leaves them.
func putCache(t *testing.T, srv *s3server.Server, bucket, prefix, dir string) {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range files {
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			_, err = srv.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "/" + e.Name()), Body: bytes.NewReader(body)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPinsFromS3: --pins-from reads niks3's pins/NAME objects of a private
// bucket and verifies them against the bucket's own narinfo files, read
// through the S3 API (the HTTP cache holding a path the bucket lacks does
// not vouch for it), with --substituter, the consumers' URL, checked to
// serve a binary cache; a pin holding no store path is named.
func TestPinsFromS3(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "cache") // private: no anonymous reads
	srv.Env(t)
	f := newIncrFixture(t)
	putCache(t, srv, "cache", "nix", f.own)
	ctx := context.Background()
	put := func(name, body string) {
		t.Helper()
		if _, err := srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cache"), Key: aws.String("nix/pins/" + name), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range f.pins {
		put(p.Name, p.LastRevision.StorePath+"\n")
	}
	flags := func(substituter string, more ...string) []string {
		return append([]string{"--pins-from", "s3://cache/nix", "--s3-endpoint", srv.URL, "--substituter", substituter,
			"--public-keys", fakecachix.PublicKey, "--upstream", f.srv.CacheURL("up"), "--verify", "fail",
			"--out", filepath.Join(t.TempDir(), "site")}, more...)
	}
	args := flags(f.srv.CacheURL("demo"))
	f.srv.ResetRequests()
	o := runCmd(t, nil, args...)
	if o.code != ExitOK {
		t.Fatalf("exit %d:\n%s", o.code, o.stderr)
	}
	wantLog(t, o.stderr, "reading pins from s3://cache/nix", "read 13 pins", "against s3://cache/nix (for "+f.srv.CacheURL("demo")+")", "published 13 pins (13 names")
	if m := readManifest(t, args[len(args)-1]); len(m.Pins) != 13 || m.Pins[0].Closure != "complete" || m.Substituter != f.srv.CacheURL("demo") {
		t.Errorf("pins.json: %d pins, substituter %s, the first %+v; want 13, verified, substituting from the HTTP cache", len(m.Pins), m.Substituter, m.Pins[0])
	}
	for _, r := range f.srv.Requests() {
		if strings.Contains(r, "/demo/") && strings.HasSuffix(r, ".narinfo") {
			t.Errorf("read %s over HTTP: the S3 cache's narinfo files are read through the S3 API", r)
		}
	}

	// A path the HTTP cache has and the bucket lacks.
	extra := fakecachix.StorePath("only-http")
	if err := fakecachix.WriteNarInfos(f.own, fakecachix.NarInfo{StorePath: extra, NarSize: 1}); err != nil {
		t.Fatal(err)
	}
	put("only-http.x86_64-linux", extra+"\n")
	if o := runCmd(t, nil, args...); o.code != ExitError || !strings.Contains(o.stderr, `pin "only-http.x86_64-linux": `+extra+" is in no binary cache (fix: nix copy --to 's3://cache/nix?endpoint="+srv.URL+"' "+extra+")") {
		t.Errorf("a path in the HTTP cache only: exit %d, want %d naming the pin:\n%s", o.code, ExitError, o.stderr)
	}
	if _, err := srv.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("cache"), Key: aws.String("nix/pins/only-http.x86_64-linux")}); err != nil {
		t.Fatal(err)
	}

	// A key the cache does not sign with: consumers would refuse the paths.
	wrongKey := flags(f.srv.CacheURL("demo"))
	wrongKey[slices.Index(wrongKey, fakecachix.PublicKey)] = "other-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="
	if o := runCmd(t, nil, wrongKey...); o.code != ExitError || !strings.Contains(o.stderr, "is signed by fake-1, none of --public-keys (other-1)") {
		t.Errorf("a wrong --public-keys: exit %d, want %d naming the keys:\n%s", o.code, ExitError, o.stderr)
	}

	// The consumers' URL: one that serves no binary cache, one that is private.
	if o := runCmd(t, nil, flags(f.srv.CacheURL("nowhere"))...); o.code != ExitError || !strings.Contains(o.stderr, "--substituter "+f.srv.CacheURL("nowhere")+" does not serve the binary cache") {
		t.Errorf("a substituter serving no cache: exit %d, want %d naming it:\n%s", o.code, ExitError, o.stderr)
	}
	if o := runCmd(t, nil, flags(srv.ObjectURL("cache", "nix"))...); o.code != ExitOK || !strings.Contains(o.stderr, "refuses reads without credentials") {
		t.Errorf("the private bucket's own URL: exit %d, want 0 with a warning:\n%s", o.code, o.stderr)
	}

	put("broken.x86_64-linux", "hello\n")
	o = runCmd(t, nil, args...)
	if o.code != ExitError || !strings.Contains(o.stderr, `pin "broken.x86_64-linux": the body of s3://cache/nix/pins/broken.x86_64-linux (the store path): `) {
		t.Errorf("a pin holding no store path: exit %d, want %d naming it and its object:\n%s", o.code, ExitError, o.stderr)
	}
	o = runCmd(t, nil, flags(f.srv.CacheURL("demo"), "--on-invalid", "skip")...)
	if o.code != ExitOK || !strings.Contains(o.stderr, "broken.x86_64-linux") {
		t.Errorf("--on-invalid skip: exit %d, want 0 with a warning naming it:\n%s", o.code, o.stderr)
	}
}

// TestPinStoreS3: `pin --store` writes niks3's pin object once the bucket
// holds the path's narinfo (read through the S3 API, or at --substituter),
// which --pins-from then reads; a path the cache lacks is refused with how
// to copy it, and nothing written.
func TestPinStoreS3(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "cache")
	srv.Env(t)
	f := newIncrFixture(t)
	putCache(t, srv, "cache", "nix", f.own)
	if err := fakecachix.WriteNarInfos(f.own, fakecachix.NarInfo{StorePath: fakecachix.StorePath("only-http"), NarSize: 1}); err != nil {
		t.Fatal(err)
	}
	pin := func(name, path string, more ...string) output {
		return runCmd(t, nil, append(append([]string{"pin", "--store", "s3://cache/nix", "--s3-endpoint", srv.URL}, more...), name, path)...)
	}
	p1 := func() string { return fakecachix.StorePath("p1") }
	if o := pin("hello.x86_64-linux", fakecachix.StorePath("p1")); o.code != ExitOK || !strings.Contains(o.stderr, "pinned hello.x86_64-linux to ") {
		t.Fatalf("pin: exit %d:\n%s", o.code, o.stderr)
	}
	for _, c := range []struct {
		name, path, in string
		more           []string
	}{
		{"absent", fakecachix.StorePath("nowhere"), "s3://cache/nix", nil},
		{"only-http", fakecachix.StorePath("only-http"), "s3://cache/nix", nil},
		{"absent-http", fakecachix.StorePath("nowhere"), f.srv.CacheURL("demo"), []string{"--substituter", f.srv.CacheURL("demo")}},
	} {
		o := pin(c.name, c.path, c.more...)
		if o.code != ExitError || !strings.Contains(o.stderr, "not in the binary cache at "+c.in+": copy it there first (nix copy --to 's3://cache/nix?endpoint="+srv.URL+"'") {
			t.Errorf("%s: exit %d, want %d saying it is not in %s and how to copy it:\n%s", c.name, o.code, ExitError, c.in, o.stderr)
		}
	}
	if o := pin("via-http", fakecachix.StorePath("only-http"), "--substituter", f.srv.CacheURL("demo")); o.code != ExitOK {
		t.Errorf("--substituter holding the path: exit %d:\n%s", o.code, o.stderr)
	}
	// A --substituter that refuses anonymous reads: the bucket itself.
	if o := pin("private", p1(), "--substituter", srv.ObjectURL("cache", "nix")); o.code != ExitError || !strings.Contains(o.stderr, "without --substituter, the narinfo is read from the bucket through the S3 API") || strings.Contains(o.stderr, "token") {
		t.Errorf("a private --substituter: exit %d, want %d and how to do without it:\n%s", o.code, ExitError, o.stderr)
	}

	// Signatures: --public-keys checks them, as --pins-from will; an
	// unsigned narinfo is a warning without them.
	if o := pin("signed", p1(), "--public-keys", fakecachix.PublicKey); o.code != ExitOK || strings.Contains(o.stderr, "signature") {
		t.Errorf("signed by --public-keys: exit %d:\n%s", o.code, o.stderr)
	}
	if o := pin("wrong-key", p1(), "--public-keys", "demo-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="); o.code != ExitError || !strings.Contains(o.stderr, "is signed by fake-1, none of --public-keys (demo-1)") {
		t.Errorf("signed by another key: exit %d, want %d naming the signer:\n%s", o.code, ExitError, o.stderr)
	}
	bare := fakecachix.NarInfo{StorePath: fakecachix.StorePath("unsigned"), NarSize: 1}.Text()
	bare = bare[:strings.Index(bare, "Sig: ")]
	key := "nix/" + strings.TrimPrefix(bare[len("StorePath: "):], "/nix/store/")[:32] + ".narinfo"
	if _, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("cache"), Key: aws.String(key), Body: strings.NewReader(bare)}); err != nil {
		t.Fatal(err)
	}
	if o := pin("unsigned", fakecachix.StorePath("unsigned")); o.code != ExitOK || !strings.Contains(o.stderr, "carries no signature: consumers' Nix (require-sigs, its default) refuses") {
		t.Errorf("unsigned: exit %d, want %d and a warning:\n%s", o.code, ExitOK, o.stderr)
	}
	if o := pin("unsigned-keys", fakecachix.StorePath("unsigned"), "--public-keys", fakecachix.PublicKey); o.code != ExitError || !strings.Contains(o.stderr, "carries no signature, and consumers' Nix, trusting --public-keys (fake-1)") {
		t.Errorf("unsigned, with --public-keys: exit %d, want %d:\n%s", o.code, ExitError, o.stderr)
	}
	got := objectsOf(t, srv, "cache")
	for _, name := range []string{"wrong-key", "unsigned-keys"} {
		if got["nix/pins/"+name] != "" {
			t.Errorf("nix/pins/%s written, though its narinfo is signed by none of --public-keys", name)
		}
	}
	if got["nix/pins/hello.x86_64-linux"] == "" || got["nix/pins/via-http"] == "" || got["nix/pins/absent"] != "" || got["nix/pins/only-http"] != "" {
		t.Errorf("objects %v, want nix/pins/hello.x86_64-linux and nix/pins/via-http alone under nix/pins/", got)
	}
	resp, err := srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("cache"), Key: aws.String("nix/pins/hello.x86_64-linux")})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := io.Copy(&body, resp.Body); err != nil || body.String() != fakecachix.StorePath("p1")+"\n" {
		t.Errorf("the pin object holds %q (%v), want the store path and a newline", body.String(), err)
	}
}

// TestS3ModeChecksTheSiteURL: the published pins.json is read at --site-url
// as consumers would: a bucket that refuses anonymous reads, or a URL that
// serves something else, is a warning saying what to fix.
func TestS3ModeChecksTheSiteURL(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "pins")
	srv.CreateBucket(t, "open")
	srv.AllowAnonymousRead(t, "open")
	srv.Env(t)
	f := newIncrFixture(t)
	for _, tt := range []struct{ name, siteURL, want string }{
		{"private bucket", srv.ObjectURL("pins", "site/"), "consumers cannot read the site: GET " + srv.ObjectURL("pins", "site/pins.json") + " answers 403"},
		{"another place", srv.ObjectURL("open", "elsewhere/"), "--site-url does not serve this publish: GET " + srv.ObjectURL("open", "elsewhere/pins.json") + " answers 404"},
		{"another site", srv.ObjectURL("open", "another-site-first/"), "--site-url does not serve this publish: GET " + srv.ObjectURL("open", "another-site-first/pins.json") + " answers a pins.json that is neither this publish's nor the previous one of s3://pins/another-site ("},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "another site" { // at the URL given, of other pins
				f.srv.SetPins("demo", f.pins[1:])
				f.publish(t, filepath.Join(t.TempDir(), "site"), t0, "--mode", "s3", "--s3-url", "s3://open/another-site-first",
					"--s3-endpoint", srv.URL, "--site-url", tt.siteURL)
				f.srv.SetPins("demo", f.pins)
			}
			log, _ := f.publish(t, filepath.Join(t.TempDir(), "site"), t0, "--mode", "s3", "--s3-url", "s3://pins/"+strings.ReplaceAll(tt.name, " ", "-"),
				"--s3-endpoint", srv.URL, "--site-url", tt.siteURL)
			wantLog(t, log, tt.want)
		})
	}

	// A cache in front of the bucket that keeps the first pins.json it read.
	var (
		mu     sync.Mutex
		cached []byte
	)
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if cached == nil {
			resp, err := http.Get(srv.ObjectURL("open", "lag"+r.URL.Path))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			cached, _ = io.ReadAll(resp.Body)
		}
		_, _ = w.Write(cached)
	}))
	defer cdn.Close()
	lag := []string{"--mode", "s3", "--s3-url", "s3://open/lag", "--s3-endpoint", srv.URL, "--site-url", cdn.URL + "/"}
	if log, _ := f.publish(t, filepath.Join(t.TempDir(), "site"), t0, lag...); strings.Contains(log, cdn.URL+"/pins.json") {
		t.Errorf("a first publish through the cache: a line on pins.json:\n%s", log)
	}
	f.srv.SetPins("demo", f.pins[1:])
	defer f.srv.SetPins("demo", f.pins)
	log, _ := f.publish(t, filepath.Join(t.TempDir(), "site"), t0, lag...)
	wantLog(t, log, "notice: "+cdn.URL+"/pins.json is still the previous publish's pins.json")
}

// TestS3ModeRacing: runs racing on one prefix, each of one of three caches
// (three pin sets), again and again, two bundles kept: each exits 0, and
// then every object the marker lists holds what it lists (--reverify finds
// none stale) and every bundle pins.json names is served.
func TestS3ModeRacing(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "pins")
	srv.AllowAnonymousRead(t, "pins")
	srv.Env(t)
	f := newIncrFixture(t)
	for i := range 3 {
		if err := f.srv.SetCache(fakecachix.Cache{Name: fmt.Sprint("set", i), Dir: f.own, Pins: f.pins[:10+i]}); err != nil {
			t.Fatal(err)
		}
	}
	base := srv.ObjectURL("pins", "site/")
	run := func(cache string, more ...string) (int, string) {
		args := append([]string{"--cache", cache, "--cachix-url", f.srv.URL(), "--upstream", f.srv.CacheURL("up"), "--keep-bundles", "2",
			"--mode", "s3", "--s3-url", "s3://pins/site", "--s3-endpoint", srv.URL, "--site-url", base, "--out", filepath.Join(t.TempDir(), "site")}, more...)
		var stderr strings.Builder
		code := Main(context.Background(), args, Env{Getenv: func(string) string { return "" }, Stdout: &strings.Builder{}, Stderr: &stderr, Version: "test"})
		return code, stderr.String()
	}
	for repeat := range 3 {
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				if code, log := run(fmt.Sprint("set", (i+repeat)%3)); code != ExitOK {
					t.Errorf("repeat %d, run %d: exit %d:\n%s", repeat, i, code, log)
				}
			})
		}
		wg.Wait()
		resp, err := http.Get(base + "pins.json")
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Bundles []struct{ Path string } }
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err != nil || len(m.Bundles) != 2 {
			t.Fatalf("repeat %d: pins.json: %v, %d bundles; want 2", repeat, err, len(m.Bundles))
		}
		for _, b := range m.Bundles {
			if resp, err := http.Head(base + b.Path); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("repeat %d: pins.json names %s: %v %v, want 200", repeat, b.Path, resp, err)
			}
		}
		code, log := run("set0", "--reverify")
		if code != ExitOK {
			t.Fatalf("repeat %d: the check: exit %d:\n%s", repeat, code, log)
		}
		wantLog(t, log, "every object of earlier publishes is there as written")
	}
}
