package cachix_test

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	pinPath  = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.12"
	pinPath2 = "/nix/store/1c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.13"
)

// pinClient is a client of a fake Cachix holding the cache "demo", with the
// token set and waits that return at once.
func pinClient(t *testing.T, opts ...cachix.Option) (*cachix.Client, *fakecachix.Server) {
	t.Helper()
	fake := fakecachix.Start(t, fakecachix.Options{PathPrefix: prefix, Caches: []fakecachix.Cache{{Name: "demo"}}})
	fake.SetWriteToken(token)
	opts = append([]cachix.Option{cachix.WithToken(token), cachix.WithRetry(retry.Policy{Sleep: (&sleeper{}).sleep})}, opts...)
	c, err := cachix.New(fake.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

// TestCreatePinKeep checks the bytes sent for each keep policy against golden
// files: Cachix decodes a tagged sum and refuses anything else.
func TestCreatePinKeep(t *testing.T) {
	tests := []struct {
		name      string
		keep      *cachix.Keep
		artifacts []string
	}{
		{"default", nil, nil},
		{"revisions", cachix.KeepRevisions(3), []string{"bin/hello"}},
		{"days", cachix.KeepDays(30), nil},
		{"forever", cachix.KeepForever(), []string{"bin/hello", "share/man"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fake := pinClient(t)
			err := c.CreatePin(context.Background(), "demo", cachix.PinCreate{Name: "hello", StorePath: pinPath, Artifacts: tt.artifacts, Keep: tt.keep})
			if err != nil {
				t.Fatal(err)
			}
			reqs := fake.PinRequests()
			if len(reqs) != 1 {
				t.Fatalf("%d pin requests, want 1", len(reqs))
			}
			golden := filepath.Join("testdata", "pin-"+tt.name+".json")
			got := append(reqs[0].Body, '\n')
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreatePinRevisions(t *testing.T) {
	c, fake := pinClient(t)
	ctx := context.Background()
	for _, p := range []string{pinPath, pinPath2} {
		if err := c.CreatePin(ctx, "demo", cachix.PinCreate{Name: "hello.x86_64-linux", StorePath: p}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.ConfirmPin(ctx, "demo", "hello.x86_64-linux", pinPath2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastRevision.Revision != 2 || got.LastRevision.StorePath != pinPath2 {
		t.Errorf("pin = %+v, want revision 2 of %s", got, pinPath2)
	}
	if revs := fake.Revisions("demo", "hello.x86_64-linux"); len(revs) != 2 || revs[0].StorePath != pinPath {
		t.Errorf("revisions = %+v", revs)
	}
}

func TestCreatePinErrors(t *testing.T) {
	ctx := context.Background()
	pin := cachix.PinCreate{Name: "hello", StorePath: pinPath}

	t.Run("no token", func(t *testing.T) {
		c, fake := pinClient(t, cachix.WithToken(""))
		err := c.CreatePin(ctx, "demo", pin)
		if !errors.Is(err, cachix.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if !strings.Contains(err.Error(), `writing to cache "demo" needs an auth token with write access`) {
			t.Errorf("err = %v, want a hint about a write token", err)
		}
		if n := len(fake.PinRequests()); n != 0 {
			t.Errorf("%d pins created", n)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		c, _ := pinClient(t, cachix.WithToken("read-only"))
		err := c.CreatePin(ctx, "demo", pin)
		if !errors.Is(err, cachix.ErrUnauthorized) || !strings.Contains(err.Error(), "lacks write access") {
			t.Fatalf("err = %v, want ErrUnauthorized about write access", err)
		}
		if strings.Contains(err.Error(), "read-only") {
			t.Errorf("err = %v shows the token", err)
		}
	})
	t.Run("500 then success", func(t *testing.T) {
		var retries []retry.Event
		c, fake := pinClient(t, cachix.WithRetry(retry.Policy{Sleep: (&sleeper{}).sleep, OnRetry: func(e retry.Event) { retries = append(retries, e) }}))
		fake.FailNext(2, http.StatusInternalServerError, "")
		if err := c.CreatePin(ctx, "demo", pin); err != nil {
			t.Fatal(err)
		}
		if len(retries) != 2 || len(fake.PinRequests()) != 1 {
			t.Errorf("%d retries, %d pins created; want 2 and 1", len(retries), len(fake.PinRequests()))
		}
		if n := fake.Count("/api/v1/cache/demo/pin"); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("500 for good", func(t *testing.T) {
		c, fake := pinClient(t, cachix.WithRetry(retry.Policy{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
		fake.FailNext(5, http.StatusInternalServerError, "")
		err := c.CreatePin(ctx, "demo", pin)
		var apiErr *cachix.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Method != http.MethodPost {
			t.Fatalf("err = %v, want the POST's 500", err)
		}
		if !strings.Contains(err.Error(), "gave up after 3 attempts") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestConfirmPinLate(t *testing.T) {
	ctx := context.Background()
	t.Run("shows after two reads", func(t *testing.T) {
		c, fake := pinClient(t)
		fake.SetListLag(2)
		if err := c.CreatePin(ctx, "demo", cachix.PinCreate{Name: "hello", StorePath: pinPath}); err != nil {
			t.Fatal(err)
		}
		fake.ResetRequests()
		got, err := c.ConfirmPin(ctx, "demo", "hello", pinPath, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastRevision.Revision != 1 {
			t.Errorf("revision = %d, want 1", got.LastRevision.Revision)
		}
		if n := fake.Count("/api/v1/cache/demo/pin"); n != 3 {
			t.Errorf("%d reads of the list, want 3", n)
		}
	})
	t.Run("never within the wait", func(t *testing.T) {
		sl := &sleeper{}
		c, fake := pinClient(t, cachix.WithRetry(retry.Policy{Sleep: sl.sleep}))
		fake.SetListLag(1000)
		if err := c.CreatePin(ctx, "demo", cachix.PinCreate{Name: "hello", StorePath: pinPath}); err != nil {
			t.Fatal(err)
		}
		_, err := c.ConfirmPin(ctx, "demo", "hello", pinPath, 20*time.Second)
		var nl *cachix.NotListedError
		if !errors.As(err, &nl) || !errors.Is(err, cachix.ErrNotListed) {
			t.Fatalf("err = %v, want a NotListedError", err)
		}
		if nl.Waited != 20*time.Second || total(sl.got) != 20*time.Second {
			t.Errorf("waited %s (slept %s), want exactly the 20s allowed", nl.Waited, total(sl.got))
		}
		if nl.Polls < 3 || nl.Polls > 8 {
			t.Errorf("%d reads, want a few", nl.Polls)
		}
	})
}

func total(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}
