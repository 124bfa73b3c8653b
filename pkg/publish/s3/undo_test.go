package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// errInjected is the failure a failBucket answers with: not a lost race.
var errInjected = errors.New("injected: connection reset by peer")

// failBucket is a bucket that fails the kth write of a name that put
// matches (k from 1), or every read of a name that get matches. With sent,
// the failing write is made before it fails (its answer lost); with
// undoFails, every write and delete after the failure fails too; with
// meanwhile, another publish runs just before the failure. It counts the
// reads of objects other than the marker.
type failBucket struct {
	Bucket
	put       func(name string) bool
	k         int
	get       func(name string) bool
	sent      bool
	undoFails bool
	meanwhile func()

	mu     sync.Mutex
	n      int
	failed bool
	reads  int
}

func (f *failBucket) Get(ctx context.Context, name string, limit int64) (s3bucket.Object, error) {
	f.mu.Lock()
	if name != MarkerName {
		f.reads++
	}
	f.mu.Unlock()
	if f.get != nil && f.get(name) {
		return s3bucket.Object{}, fmt.Errorf("GetObject %s: %w", name, errInjected)
	}
	return f.Bucket.Get(ctx, name, limit)
}

func (f *failBucket) Put(ctx context.Context, name string, body []byte, o s3bucket.PutOptions) (string, error) {
	f.mu.Lock()
	failed := f.failed
	fail := !failed && f.put != nil && f.put(name)
	if fail {
		f.n++
		fail = f.n == f.k
		f.failed = fail
	}
	f.mu.Unlock()
	switch {
	case failed && f.undoFails:
		return "", fmt.Errorf("PutObject %s: %w", name, errInjected)
	case !fail:
		return f.Bucket.Put(ctx, name, body, o)
	}
	if f.meanwhile != nil {
		f.meanwhile()
	}
	if f.sent {
		if _, err := f.Bucket.Put(ctx, name, body, o); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("PutObject %s: %w", name, errInjected)
}

func (f *failBucket) Delete(ctx context.Context, names ...string) error {
	f.mu.Lock()
	failed := f.failed
	f.mu.Unlock()
	if failed && f.undoFails {
		return fmt.Errorf("DeleteObjects: %w", errInjected)
	}
	return f.Bucket.Delete(ctx, names...)
}

// stored is an object as a reader finds it.
type stored struct {
	Body, ContentType, CacheControl string
	Metadata                        map[string]string
}

// snapshot reads every object of the bucket demo: content and headers.
func snapshot(t *testing.T, srv *s3server.Server) map[string]stored {
	t.Helper()
	ctx := context.Background()
	snap := map[string]stored{}
	for _, key := range keys(t, srv) {
		out, err := srv.Client().GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("demo"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		meta := map[string]string{}
		for k, v := range out.Metadata {
			meta[strings.ToLower(k)] = v
		}
		snap[key] = stored{string(body), aws.ToString(out.ContentType), aws.ToString(out.CacheControl), meta}
	}
	return snap
}

// diff says how got differs from want, or "".
func diff(want, got map[string]stored) string {
	var d []string
	for _, key := range slices.Sorted(maps.Keys(want)) {
		switch g, ok := got[key]; {
		case !ok:
			d = append(d, "missing "+key)
		case g.Body != want[key].Body:
			d = append(d, fmt.Sprintf("%s holds %q, want %q", key, g.Body, want[key].Body))
		case g.ContentType != want[key].ContentType || g.CacheControl != want[key].CacheControl || !maps.Equal(g.Metadata, want[key].Metadata):
			d = append(d, fmt.Sprintf("%s has headers %q %q %v, want %q %q %v", key, g.ContentType, g.CacheControl, g.Metadata,
				want[key].ContentType, want[key].CacheControl, want[key].Metadata))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[key]; !ok {
			d = append(d, "extra "+key)
		}
	}
	return strings.Join(d, "; ")
}

const (
	linkOne = `<http://127.0.0.1/site/b/one.tar.gz?narHash=sha256-one>; rel="immutable"`
	linkTwo = `<http://127.0.0.1/site/b/two.tar.gz?narHash=sha256-two>; rel="immutable"`
)

// siteTwo is the site that replaces siteOf("one"): every mutable name but
// bundle/default.nix changed, a new bundle b/two.tar.gz and a new p/world.
func siteTwo() map[string][]byte {
	two := siteOf("two")
	two["p/world"] = []byte("world two")
	return two
}

// published is a prefix holding siteOf("one"), an object of another name,
// and index.html rewritten with other headers than a publish gives it.
func published(t *testing.T) (*s3server.Server, *s3bucket.Bucket) {
	t.Helper()
	srv, b, _ := bucketAt(t, "site")
	ctx := context.Background()
	if _, err := Publish(ctx, b, Options{Files: siteOf("one"), Link: linkOne}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []*awss3.PutObjectInput{
		{Key: aws.String("site/notes.txt"), Body: strings.NewReader("mine")},
		{Key: aws.String("site/index.html"), Body: strings.NewReader(string(siteOf("one")["index.html"])),
			ContentType: aws.String("text/html"), CacheControl: aws.String("no-cache"), Metadata: map[string]string{"owner": "me"}},
	} {
		in.Bucket = aws.String("demo")
		if _, err := srv.Client().PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	return srv, b
}

func named(name string) func(string) bool { return func(n string) bool { return n == name } }

func ofKind(kind int) func(string) bool {
	return func(n string) bool { return n != MarkerName && kindOf(n) == kind }
}

// TestUndo: an S3 error halfway leaves every object of the prefix as it was
// before the run, content and headers, and the error says so; on a first
// publish, the prefix is empty again.
func TestUndo(t *testing.T) {
	for _, tt := range []struct {
		name string
		// fresh: a first publish; adopt: one with Force on a prefix
		// holding objects, one of a site's name.
		fresh, adopt bool
		f            *failBucket
		// restored and deleted: the counts the error names; nothing:
		// it failed before any write, so it names none.
		restored, deleted int
		nothing           bool
	}{
		{name: "a read of what is written over", f: &failBucket{get: named("index.html")}, deleted: 1},
		{name: "an immutable write", f: &failBucket{put: ofKind(kindImmutable), k: 1}, deleted: 1},
		{name: "the first inner write", f: &failBucket{put: ofKind(kindInner), k: 1}, restored: 2, deleted: 2},
		{name: "a top name", f: &failBucket{put: ofKind(kindTop), k: 2}, restored: 5, deleted: 2},
		{name: "pins.json", f: &failBucket{put: named(site.Manifest), k: 1}, restored: 6, deleted: 2},
		{name: "the marker, not a lost race", f: &failBucket{put: named(MarkerName), k: 1}, restored: 6, deleted: 2},
		{name: "pins.json of a first publish", fresh: true, f: &failBucket{put: named(site.Manifest), k: 1}, deleted: 9},
		// The first marker written is the claim (its failure is the
		// publish's, with nothing to undo); the second is the list.
		{name: "the marker of a first publish", fresh: true, f: &failBucket{put: named(MarkerName), k: 2}, deleted: 9},
		{name: "the claim of a first publish", fresh: true, f: &failBucket{put: named(MarkerName), k: 1}, nothing: true},
		{name: "pins.json on a prefix adopted", adopt: true, f: &failBucket{put: named(site.Manifest), k: 1}, restored: 1, deleted: 8},
		{name: "an immutable write on a prefix adopted", adopt: true, f: &failBucket{put: ofKind(kindImmutable), k: 1}, deleted: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var srv *s3server.Server
			var b *s3bucket.Bucket
			switch {
			case tt.fresh:
				srv, b, _ = bucketAt(t, "site")
			case tt.adopt:
				srv, b, _ = bucketAt(t, "site")
				for _, key := range []string{"site/notes.txt", "site/index.html"} {
					in := &awss3.PutObjectInput{Bucket: aws.String("demo"), Key: aws.String(key), Body: strings.NewReader("theirs"),
						ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "them"}}
					if _, err := srv.Client().PutObject(context.Background(), in); err != nil {
						t.Fatal(err)
					}
				}
			default:
				srv, b = published(t)
			}
			before := snapshot(t, srv)
			f := tt.f
			f.Bucket = b
			_, err := Publish(context.Background(), f, Options{Files: siteTwo(), Link: linkTwo, Concurrency: 2, Force: tt.adopt})
			if !errors.Is(err, errInjected) || errors.Is(err, ErrRaced) {
				t.Fatalf("Publish = %v, want the injected error", err)
			}
			want := fmt.Sprintf("the site at %s is as it was before this run (%d objects put back, %d deleted)", b, tt.restored, tt.deleted)
			if tt.nothing {
				want = "injected: connection reset by peer"
			}
			if !strings.HasSuffix(err.Error(), want) {
				t.Errorf("Publish = %v\nwant it to end %q", err, want)
			}
			if d := diff(before, snapshot(t, srv)); d != "" {
				t.Errorf("the prefix after the failure: %s", d)
			}
		})
	}
}

// TestUndoFails: when putting back fails too, the error names the objects
// that hold this run's content, and says publishing again fixes it.
func TestUndoFails(t *testing.T) {
	_, b := published(t)
	f := &failBucket{Bucket: b, put: named(site.Manifest), k: 1, undoFails: true}
	_, err := Publish(context.Background(), f, Options{Files: siteTwo(), Link: linkTwo})
	if !errors.Is(err, errInjected) {
		t.Fatalf("Publish = %v, want the injected error", err)
	}
	for _, s := range []string{"putting the site at " + b.String() + " back as it was failed too", "b/two.tar.gz", "index.html", "p/world",
		"pins.json", "pins.tar.gz", "publishing again fixes it"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Publish = %v\nwant it to say %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "bundle/default.nix") || strings.Contains(err.Error(), "as it was before this run") {
		t.Errorf("Publish = %v\nnames an object this run did not write, or says it was put back", err)
	}
}

// TestUndoAfterTheMarker: a failed write of the marker that was made all
// the same is the publish done; another publish that wrote its marker
// before this one's failure is a lost race, not undone.
func TestUndoAfterTheMarker(t *testing.T) {
	t.Run("made all the same", func(t *testing.T) {
		srv, b := published(t)
		f := &failBucket{Bucket: b, put: named(MarkerName), k: 1, sent: true}
		res, err := Publish(context.Background(), f, Options{Files: siteTwo(), Link: linkTwo})
		if err != nil {
			t.Fatalf("Publish = %v, want the publish done", err)
		}
		// b/one.tar.gz, which the site no longer holds, is deleted after.
		if !res.Changed || res.Deleted != 1 {
			t.Errorf("Publish: %+v, want changed, 1 deleted", res)
		}
		if _, body := get(t, srv, "site/pins.json"); body != string(siteTwo()["pins.json"]) {
			t.Errorf("pins.json = %q, want this run's", body)
		}
	})
	t.Run("another publish meanwhile", func(t *testing.T) {
		srv, b := published(t)
		other := siteOf("other")
		f := &failBucket{Bucket: b, put: named(site.Manifest), k: 1, meanwhile: func() {
			// It takes the lock over, as if this publish had stalled
			// for a whole lease.
			if err := b.Delete(context.Background(), LockName); err != nil {
				t.Fatal(err)
			}
			if _, err := Publish(context.Background(), b, Options{Files: other}); err != nil {
				t.Errorf("the other publish: %v", err)
			}
		}}
		_, err := Publish(context.Background(), f, Options{Files: siteTwo(), Link: linkTwo})
		if !errors.Is(err, ErrRaced) || !errors.Is(err, errInjected) {
			t.Fatalf("Publish = %v, want ErrRaced and the injected error", err)
		}
		for _, name := range []string{"pins.json", "index.html", "pins"} {
			if _, body := get(t, srv, "site/"+name); body != string(other[name]) {
				t.Errorf("%s = %q, want the other publish's %q", name, body, other[name])
			}
		}
		if _, body := get(t, srv, "site/b/other.tar.gz"); body != string(other["b/other.tar.gz"]) {
			t.Errorf("b/other.tar.gz = %q, want the other publish's", body)
		}
	})
}

// TestPrevious: Options.Previous spares the reads of the objects whose MD5
// is the marker's, and is ignored where it is not; the mutable tarballs are
// read all the same (their link is not in their bytes). Objects written
// with the same content and headers (pins and pins.tar.gz, p/hello and
// p/hello.tar.gz) are read once, unless the one read was deleted by hand.
// Either way a failure puts back what was there.
func TestPrevious(t *testing.T) {
	one := siteOf("one")
	for _, tt := range []struct {
		name     string
		previous map[string][]byte
		reads    int
		gone     string // deleted by hand before the publish
	}{
		{"none", nil, 4, ""},
		{"pins.json and index.html", map[string][]byte{"pins.json": one["pins.json"], "index.html": one["index.html"]}, 2, ""},
		{"the tarballs", map[string][]byte{"pins": one["pins"], "pins.tar.gz": one["pins.tar.gz"]}, 4, ""},
		{"a stale index.html", map[string][]byte{"pins.json": one["pins.json"], "index.html": []byte("<html>stale</html>")}, 3, ""},
		{"one not written over", map[string][]byte{"bundle/default.nix": one["bundle/default.nix"]}, 4, ""},
		{"a twin gone", nil, 5, "site/p/hello"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, b, _ := bucketAt(t, "site")
			ctx := context.Background()
			if _, err := Publish(ctx, b, Options{Files: one, Link: linkOne}); err != nil {
				t.Fatal(err)
			}
			if tt.gone != "" {
				if _, err := srv.Client().DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("demo"), Key: aws.String(tt.gone)}); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, srv)
			f := &failBucket{Bucket: b, put: named(MarkerName), k: 1}
			if _, err := Publish(ctx, f, Options{Files: siteTwo(), Link: linkTwo, Previous: tt.previous}); !errors.Is(err, errInjected) {
				t.Fatalf("Publish = %v, want the injected error", err)
			}
			if f.reads != tt.reads {
				t.Errorf("%d objects read, want %d", f.reads, tt.reads)
			}
			if d := diff(before, snapshot(t, srv)); d != "" {
				t.Errorf("the prefix after the failure: %s", d)
			}
			res, err := Publish(ctx, b, Options{Files: siteTwo(), Link: linkTwo, Previous: tt.previous})
			if err != nil {
				t.Fatal(err)
			}
			if res.Read != tt.reads {
				t.Errorf("Result.Read = %d, want %d", res.Read, tt.reads)
			}
		})
	}
}

// overlapBucket notes whether a read of an object was sent while an
// immutable write was in flight.
type overlapBucket struct {
	Bucket
	read    chan struct{}
	once    sync.Once
	overlap bool
}

func (o *overlapBucket) Get(ctx context.Context, name string, limit int64) (s3bucket.Object, error) {
	if name != MarkerName {
		o.once.Do(func() { close(o.read) })
	}
	return o.Bucket.Get(ctx, name, limit)
}

func (o *overlapBucket) Put(ctx context.Context, name string, body []byte, p s3bucket.PutOptions) (string, error) {
	if kindOf(name) == kindImmutable {
		// The bound only keeps a publish that reads after its immutable
		// writes from hanging the test; the check is the order.
		select {
		case <-o.read:
			o.overlap = true
		case <-time.After(10 * time.Second):
		}
	}
	return o.Bucket.Put(ctx, name, body, p)
}

// TestReadsAlongsideImmutables: the objects to put back are read while the
// immutable bundles are written, not after.
func TestReadsAlongsideImmutables(t *testing.T) {
	_, b := published(t)
	o := &overlapBucket{Bucket: b, read: make(chan struct{})}
	res, err := Publish(context.Background(), o, Options{Files: siteTwo(), Link: linkTwo, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !o.overlap || res.Read != 4 {
		t.Errorf("a read while the immutable write was in flight: %v, %d objects read; want true, 4", o.overlap, res.Read)
	}
}

// cancelAfter is a bucket that stops the run (cancels its context, as a
// signal does) once n objects of the site are written.
type cancelAfter struct {
	Bucket
	mu     sync.Mutex
	n      int
	cancel context.CancelCauseFunc
}

func (c *cancelAfter) Put(ctx context.Context, name string, body []byte, o s3bucket.PutOptions) (string, error) {
	etag, err := c.Bucket.Put(ctx, name, body, o)
	if strings.HasPrefix(name, "p/") {
		c.mu.Lock()
		if c.n--; c.n == 0 {
			c.cancel(errors.New("terminated"))
		}
		c.mu.Unlock()
	}
	return etag, err
}

// TestStopped: a run stopped midway (its context cancelled by a signal)
// sends no more writes, puts back only those it sent, says it was stopped,
// and releases the lock.
func TestStopped(t *testing.T) {
	srv, b := published(t)
	before := snapshot(t, srv)
	site := siteTwo()
	for i := range 300 {
		site[fmt.Sprint("p/n", i)] = []byte(fmt.Sprint("n", i))
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &cancelAfter{Bucket: b, n: 5, cancel: cancel}
	_, err := Publish(ctx, c, Options{Files: site, Link: linkTwo, Concurrency: 2})
	if err == nil || !strings.Contains(err.Error(), "stopped: terminated") || !strings.Contains(err.Error(), "is as it was before this run") {
		t.Fatalf("Publish = %v, want stopped and put back", err)
	}
	// Two at a time: of the 300, no more than a few were sent.
	var created int
	if _, err := fmt.Sscanf(err.Error()[strings.LastIndex(err.Error(), "put back, ")+len("put back, "):], "%d deleted", &created); err != nil || created > 10 {
		t.Errorf("%v: %d created objects deleted, want the few sent", err, created)
	}
	if d := diff(before, snapshot(t, srv)); d != "" {
		t.Errorf("after a stopped run: %s", d)
	}
}
