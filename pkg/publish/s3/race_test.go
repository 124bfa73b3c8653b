package s3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
)

// earlierSite is a test site built, as create-pin-refs builds one, on the
// publish it read: its pins.json names its own bundle and the earlier ones
// it keeps (those of the pins.json read, up to keep in all), and it holds
// those earlier bundles again. read is the pins.json read, if any.
func earlierSite(ctx context.Context, b Bucket, tag string, keep int, read []byte) (map[string][]byte, error) {
	files := siteOf(tag)
	own := "b/" + tag + ".tar.gz"
	bundles := []string{own}
	if read != nil {
		var prev struct{ Bundles []string }
		if err := json.Unmarshal(read, &prev); err != nil {
			return nil, fmt.Errorf("pins.json: %w", err)
		}
		for _, name := range prev.Bundles {
			if len(bundles) == keep || slices.Contains(bundles, name) {
				continue
			}
			got, err := b.Get(ctx, name, 1<<20)
			if errors.Is(err, s3bucket.ErrNotFound) {
				continue // as create-pin-refs does, with a warning
			}
			if err != nil {
				return nil, err
			}
			files[name] = got.Body
			bundles = append(bundles, name)
		}
	}
	manifest, err := json.Marshal(map[string]any{"tag": tag, "bundles": bundles})
	if err != nil {
		return nil, err
	}
	files["pins.json"] = manifest
	return files, nil
}

// racer publishes the site of tag as create-pin-refs' s3 mode does: the
// previous pins.json read, then the marker, the site built on the two and
// published, and on a lost race read and built again, under the prefix's
// lock from then on.
func racer(ctx context.Context, b Bucket, tag string, lo LockOptions) error {
	var lock *Lock
	defer func() { _ = lock.Release(ctx) }()
	for round := 1; ; round++ {
		var read []byte
		obj, err := b.Get(ctx, "pins.json", 1<<20)
		switch {
		case err == nil:
			read = obj.Body
		case !errors.Is(err, s3bucket.ErrNotFound):
			return err
		}
		base, err := ReadBase(ctx, b, false)
		if err != nil {
			return err
		}
		files, err := earlierSite(ctx, b, tag, 3, read)
		if err != nil {
			return err
		}
		// Found missing, it is nil, as create-pin-refs passes it.
		previous := map[string][]byte{"pins.json": read}
		_, err = Publish(ctx, b, Options{Files: files, Base: base, Previous: previous, Lock: lock, LockOptions: lo})
		if !errors.Is(err, ErrRaced) {
			return err
		}
		if round == 5 {
			return fmt.Errorf("round %d: %w", round, err)
		}
		if lock == nil {
			if lock, err = Acquire(ctx, b, lo); err != nil {
				return err
			}
		}
	}
}

// TestRacingPublishes: publishes racing on one prefix, each of two sites,
// again and again: each ends with no error, and then the prefix is whole,
// every object the marker lists holds what it lists, every bundle pins.json
// names is there, and the marker and pins.json are the last publish's.
func TestRacingPublishes(t *testing.T) {
	srv, b, _ := bucketAt(t, "site")
	ctx := context.Background()
	lo := LockOptions{Holder: "test", Lease: testLease, Poll: testPoll}
	for repeat := range 4 {
		var wg sync.WaitGroup
		for i := range 6 {
			tag := fmt.Sprintf("%s%d", []string{"even", "odd"}[i%2], repeat)
			wg.Go(func() {
				if err := racer(ctx, b, tag, lo); err != nil {
					t.Errorf("repeat %d, publisher %d: %v", repeat, i, err)
				}
			})
		}
		wg.Wait()
		m := markerOf(t, b)
		have := map[string]string{}
		for _, e := range mustList(t, b) {
			have[e.Name] = etagSum(e.ETag)
		}
		for name, s := range m.Objects {
			if have[name] != s {
				t.Errorf("repeat %d: %s does not hold what the marker lists", repeat, name)
			}
		}
		_, body := get(t, srv, "site/pins.json")
		var manifest struct{ Bundles []string }
		if err := json.Unmarshal([]byte(body), &manifest); err != nil {
			t.Fatalf("repeat %d: pins.json: %v", repeat, err)
		}
		for _, name := range manifest.Bundles {
			if _, ok := have[name]; !ok {
				t.Errorf("repeat %d: pins.json names %s, which is gone", repeat, name)
			}
		}
		if _, ok := have[LockName]; ok {
			t.Errorf("repeat %d: %s left behind", repeat, LockName)
		}
	}
}

func mustList(t *testing.T, b Bucket) []s3bucket.Entry {
	t.Helper()
	entries, err := b.List(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// The lock's timing in tests: short, so that a take-over is quick to see,
// yet long beside a request to a server on loopback.
const (
	testLease = 3 * time.Second
	testPoll  = 20 * time.Millisecond
)

// markerOf reads the prefix's marker.
func markerOf(t *testing.T, b Bucket) *marker {
	t.Helper()
	obj, err := b.Get(context.Background(), MarkerName, markerLimit)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMarker(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMadeOnAnother: a site made on a pins.json other than the one the
// marker lists (read before another publish landed, or found missing just
// before a first one) is a lost race, with nothing written; made under the
// lock, held while both were read, the pins.json there was changed or
// deleted by hand, and is written again.
func TestMadeOnAnother(t *testing.T) {
	for _, tt := range []struct {
		name string
		read []byte // what is there instead
	}{
		{"another pins.json", []byte(`{"tag":"zero"}`)},
		{"none found", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, b, reqs := bucketAt(t, "site")
			ctx := context.Background()
			one := siteOf("one")
			if _, err := Publish(ctx, b, Options{Files: one}); err != nil {
				t.Fatal(err)
			}
			if tt.read != nil {
				_, err := b.Put(ctx, "pins.json", tt.read, s3bucket.PutOptions{})
				if err != nil {
					t.Fatal(err)
				}
			} else if err := b.Delete(ctx, "pins.json"); err != nil {
				t.Fatal(err)
			}
			base, err := ReadBase(ctx, b, false)
			if err != nil {
				t.Fatal(err)
			}
			previous := map[string][]byte{"pins.json": tt.read}
			reqs.take()
			if _, err := Publish(ctx, b, Options{Files: one, Base: base, Previous: previous}); !errors.Is(err, ErrRaced) {
				t.Fatalf("Publish = %v, want ErrRaced", err)
			}
			if n := reqs.take(); n[http.MethodPut] != 0 {
				t.Errorf("the lost race sent %v, want no PUT", n)
			}
			lock, err := Acquire(ctx, b, LockOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Release(ctx)
			res, err := Publish(ctx, b, Options{Files: one, Base: base, Previous: previous, Lock: lock})
			if err != nil {
				t.Fatal(err)
			}
			if _, body := get(t, srv, "site/pins.json"); res.Put != 1 || body != string(one["pins.json"]) {
				t.Errorf("under the lock: %+v, pins.json %q; want it alone written again", res, body)
			}
		})
	}
}
