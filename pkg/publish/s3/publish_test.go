package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// requests counts the requests a bucket client sends, by method.
type requests struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *requests) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.n[req.Method]++
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *requests) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.n
	r.n = map[string]int{}
	return n
}

// bucketAt opens s3://demo/PREFIX on a new server, with anonymous reads
// allowed, and counts its requests.
func bucketAt(t *testing.T, prefix string) (*s3server.Server, *s3bucket.Bucket, *requests) {
	t.Helper()
	srv := s3server.Start(t)
	srv.CreateBucket(t, "demo")
	srv.AllowAnonymousRead(t, "demo")
	srv.Env(t)
	loc, err := s3bucket.ParseLocation("s3://demo/" + prefix)
	if err != nil {
		t.Fatal(err)
	}
	reqs := &requests{n: map[string]int{}}
	b, err := s3bucket.Open(context.Background(), s3bucket.Options{Location: loc, Endpoint: srv.URL, HTTPClient: &http.Client{Transport: reqs}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, b, reqs
}

// siteOf is a small site, varied by tag.
func siteOf(tag string) map[string][]byte {
	return map[string][]byte{
		"pins":                 []byte("tarball " + tag),
		"pins.tar.gz":          []byte("tarball " + tag),
		"pins.json":            []byte(`{"format":2,"tag":"` + tag + `"}`),
		"index.html":           []byte("<html>" + tag + "</html>"),
		"b/" + tag + ".tar.gz": []byte("immutable " + tag),
		"bundle/default.nix":   []byte("{ }: { }\n"),
		"p/hello":              []byte("hello " + tag),
		"p/hello.tar.gz":       []byte("hello " + tag),
	}
}

// get fetches an object with a plain anonymous GET, as Nix or a browser
// would.
func get(t *testing.T, srv *s3server.Server, key string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(srv.ObjectURL("demo", key))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func keys(t *testing.T, srv *s3server.Server) []string {
	t.Helper()
	out, err := srv.Client().ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, aws.ToString(o.Key))
	}
	slices.Sort(ks)
	return ks
}

// TestPublish: a first publish writes every object with its headers and the
// marker; the same site again writes nothing; a change writes only what
// changed and deletes what the site no longer holds, never an object of
// another name.
func TestPublish(t *testing.T) {
	srv, b, reqs := bucketAt(t, "site")
	ctx := context.Background()
	link := `<http://127.0.0.1/site/b/one.tar.gz?narHash=sha256-x>; rel="immutable"`
	res, err := Publish(ctx, b, Options{Files: siteOf("one"), Link: link})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.Changed || res.Put != 8 {
		t.Errorf("first publish: %+v, want created, changed, 8 objects written", res)
	}
	for _, tt := range []struct{ key, typ, cache, link string }{
		{"site/pins", "application/gzip", cacheMutable, link},
		{"site/pins.tar.gz", "application/gzip", cacheMutable, link},
		{"site/pins.json", "application/json", cacheMutable, ""},
		{"site/index.html", "text/html; charset=utf-8", cacheMutable, ""},
		{"site/b/one.tar.gz", "application/gzip", cacheImmutable, ""},
		{"site/bundle/default.nix", "text/plain; charset=utf-8", cacheMutable, ""},
		{"site/p/hello", "application/gzip", cacheMutable, ""},
	} {
		resp, _ := get(t, srv, tt.key)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.typ ||
			resp.Header.Get("Cache-Control") != tt.cache || resp.Header.Get("X-Amz-Meta-Link") != tt.link {
			t.Errorf("GET %s: %d, Content-Type %q, Cache-Control %q, x-amz-meta-link %q; want 200, %q, %q, %q", tt.key, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), resp.Header.Get("X-Amz-Meta-Link"), tt.typ, tt.cache, tt.link)
		}
	}
	if _, err := srv.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("demo"), Key: aws.String("site/notes.txt"), Body: strings.NewReader("mine")}); err != nil {
		t.Fatal(err)
	}
	reqs.take()

	res, err = Publish(ctx, b, Options{Files: siteOf("one"), Link: link})
	if err != nil {
		t.Fatal(err)
	}
	if n := reqs.take(); res.Changed || res.Put != 0 || n[http.MethodPut] != 0 || n[http.MethodDelete]+n[http.MethodPost] != 0 || n[http.MethodGet] != 1 || res.Read != 0 {
		t.Errorf("the same site: %+v after requests %v; want nothing written or read but the marker, one GET", res, n)
	}

	two := siteOf("two")
	two["b/one.tar.gz"] = siteOf("one")["b/one.tar.gz"] // kept
	delete(two, "p/hello")
	delete(two, "p/hello.tar.gz")
	res, err = Publish(ctx, b, Options{Files: two, Link: link})
	if err != nil {
		t.Fatal(err)
	}
	// pins, pins.tar.gz, pins.json, index.html and b/two.tar.gz.
	if !res.Changed || res.Put != 5 || res.Deleted != 2 || res.Unchanged != 2 {
		t.Errorf("an update: %+v, want 5 written, 2 deleted, 2 unchanged", res)
	}
	want := []string{"site/.create-pin-refs", "site/b/one.tar.gz", "site/b/two.tar.gz", "site/bundle/default.nix", "site/index.html",
		"site/notes.txt", "site/pins", "site/pins.json", "site/pins.tar.gz"}
	if got := keys(t, srv); !slices.Equal(got, want) {
		t.Errorf("objects %q, want %q", got, want)
	}
	if _, body := get(t, srv, "site/pins.json"); body != string(two["pins.json"]) {
		t.Errorf("pins.json = %q, want the update's", body)
	}
}

// TestNotOurs: a prefix holding objects but no marker, or a marker not of
// ours, is refused, and nothing written; --force publishes there, leaving
// objects of other names alone.
func TestNotOurs(t *testing.T) {
	for _, tt := range []struct{ name, key, body, other string }{
		{"a foreign object", "site/data.csv", "a,b", ""},
		{"foreign objects", "site/data.csv", "a,b", "site/more.csv"},
		{"a foreign marker", "site/" + MarkerName, "not ours", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, b, _ := bucketAt(t, "site")
			ctx := context.Background()
			want := []string{tt.key}
			if tt.other != "" {
				want = []string{tt.key, tt.other}
			}
			for _, key := range want {
				if _, err := srv.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("demo"), Key: aws.String(key), Body: strings.NewReader(tt.body)}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Publish(ctx, b, Options{Files: siteOf("one")})
			if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), "--force") {
				t.Fatalf("Publish = %v, want ErrNotOurs naming --force", err)
			}
			if got := keys(t, srv); !slices.Equal(got, want) {
				t.Errorf("objects after the refusal: %q, want %q alone", got, want)
			}
			if _, err := Publish(ctx, b, Options{Files: siteOf("one"), Force: true}); err != nil {
				t.Fatalf("--force: %v", err)
			}
			// The foreign object stays, and a foreign marker becomes ours.
			if _, body := get(t, srv, tt.key); (body == tt.body) == (tt.key == "site/"+MarkerName) {
				t.Errorf("%s after --force: %q", tt.key, body)
			}
		})
	}
}

// raceBucket is a bucket where another publish writes the prefix just
// before this one's first write (the claim of a first publish, or the
// lock).
type raceBucket struct {
	Bucket
	once  sync.Once
	other func()
	after bool // other runs once the lock is taken, not before the first write
}

func (r *raceBucket) Put(ctx context.Context, name string, body []byte, o s3bucket.PutOptions) (string, error) {
	if !r.after {
		r.once.Do(r.other)
	}
	etag, err := r.Bucket.Put(ctx, name, body, o)
	if r.after && name == LockName {
		r.once.Do(r.other)
	}
	return etag, err
}

// TestRace: two publishes racing on one prefix: the one whose marker is no
// longer the one it read loses with ErrRaced, having written nothing of its
// site, and the winner's marker stands. One that starts while the other
// holds the lock waits for it, then loses.
func TestRace(t *testing.T) {
	for _, tt := range []struct {
		name          string
		first, midway bool
	}{
		{"first publish", true, false},
		{"update", false, false},
		// The other publish reads the marker while this one holds the
		// lock, waits for it, and loses.
		{"first publish, the other midway", true, true},
		{"update, the other midway", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, b, _ := bucketAt(t, "site")
			ctx := context.Background()
			if !tt.first {
				if _, err := Publish(ctx, b, Options{Files: siteOf("zero")}); err != nil {
					t.Fatal(err)
				}
			}
			other := func(base *Base) error {
				_, err := Publish(ctx, b, Options{Files: siteOf("other"), Base: base, LockOptions: LockOptions{Poll: testPoll}})
				return err
			}
			var otherErr error
			var wg sync.WaitGroup
			r := &raceBucket{Bucket: b, after: tt.midway, other: func() {
				if !tt.midway {
					otherErr = other(nil)
					return
				}
				// Read while this publish holds the lock, before its
				// marker: the other waits for the lock.
				base, err := ReadBase(ctx, b, false)
				if err != nil {
					t.Error(err)
					return
				}
				wg.Go(func() { otherErr = other(base) })
			}}
			_, err := Publish(ctx, r, Options{Files: siteOf("one")})
			wg.Wait()
			winner, loser := "other", "one"
			if tt.midway {
				winner, loser = loser, winner
				err, otherErr = otherErr, err
			}
			if otherErr != nil {
				t.Fatalf("the winner, %s: %v", winner, otherErr)
			}
			if !errors.Is(err, ErrRaced) {
				t.Fatalf("the loser, %s: %v, want ErrRaced", loser, err)
			}
			m := markerOf(t, b)
			if got := slices.Sorted(maps.Keys(m.Objects)); !slices.Contains(got, "b/"+winner+".tar.gz") || slices.Contains(got, "b/"+loser+".tar.gz") {
				t.Errorf("the marker lists %q, want %s's", got, winner)
			}
			for _, e := range mustList(t, b) {
				if e.Name == "b/"+loser+".tar.gz" || e.Name == LockName {
					t.Errorf("%s is on the prefix", e.Name)
				}
			}
		})
	}
}

// TestCheck: objects deleted or written over by hand stay so while the
// marker is trusted; Check lists the prefix and writes them again, and
// only them.
func TestCheck(t *testing.T) {
	srv, b, reqs := bucketAt(t, "site")
	ctx := context.Background()
	files := siteOf("one")
	if _, err := Publish(ctx, b, Options{Files: files}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("demo"), Key: aws.String("site/p/hello")}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("demo"), Key: aws.String("site/index.html"), Body: strings.NewReader("defaced")}); err != nil {
		t.Fatal(err)
	}
	res, err := Publish(ctx, b, Options{Files: files})
	if err != nil || res.Changed || len(res.Stale) != 0 {
		t.Fatalf("trusting the marker: %+v, %v; want nothing written", res, err)
	}
	reqs.take()
	res, err = Publish(ctx, b, Options{Files: files, Check: true})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Stale) != "[index.html p/hello]" || res.Put != 2 {
		t.Errorf("Check: %+v, want index.html and p/hello stale, 2 objects written", res)
	}
	for _, name := range []string{"p/hello", "index.html"} {
		if resp, body := get(t, srv, "site/"+name); resp.StatusCode != http.StatusOK || body != string(files[name]) {
			t.Errorf("GET site/%s: %d %q, want the site's", name, resp.StatusCode, body)
		}
	}
	if n := reqs.take(); n[http.MethodPut] != 4 { // and the lock
		t.Errorf("Check sent %v, want 4 PUTs", n)
	}
	if res, err := Publish(ctx, b, Options{Files: files, Check: true}); err != nil || res.Changed || len(res.Stale) != 0 {
		t.Errorf("Check on a whole prefix: %+v, %v; want nothing written", res, err)
	}
}
