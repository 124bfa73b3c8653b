package branch

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// TestDefaultBranchNeverWritten: the bundle replaces every file of the
// branch it lands on, so the repository's default branch is refused with or
// without Force, whatever its marker says.
func TestDefaultBranchNeverWritten(t *testing.T) {
	tests := []struct {
		name  string
		force bool
		setup func(t *testing.T, fake *fakegithub.Server, def string)
	}{
		{"marker copied onto it", false, func(t *testing.T, fake *fakegithub.Server, def string) {
			plainCommit(t, fake, def, true, map[string]string{MarkerPath: string(MarkerContent()), "main.go": "package main\n"})
		}},
		{"pins branch merged into it", false, func(t *testing.T, fake *fakegithub.Server, def string) {
			_, gh := fake, client(t, fake, fake.Token)
			pins := mustPublish(t, gh, opts(fake), bundle("one"))
			if _, err := fake.Git("update-ref", "refs/heads/"+def, pins.CommitSHA); err != nil {
				t.Fatal(err)
			}
		}},
		{"forced", true, func(t *testing.T, fake *fakegithub.Server, def string) {
			plainCommit(t, fake, def, true, map[string]string{"main.go": "package main\n"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			def, err := fake.Git("symbolic-ref", "--short", "HEAD")
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(t, fake, def)
			before, _ := fake.Git("rev-parse", def)
			o := opts(fake)
			o.Branch, o.Force = def, tt.force
			n := len(fake.Requests())
			_, err = Publish(context.Background(), gh, o, bundle("two"))
			if !errors.Is(err, ErrDefaultBranch) {
				t.Fatalf("Publish = %v, want ErrDefaultBranch", err)
			}
			if w := writes(since(fake, n)); w != 0 {
				t.Errorf("refused publish made %d writes", w)
			}
			if got, _ := fake.Git("rev-parse", def); got != before {
				t.Errorf("%s moved from %s to %s", def, before, got)
			}
		})
	}
}

// TestTokenStaysOnItsOrigin: GitHub (or something in between) redirects a
// read or a write to another origin; the token must not reach it.
func TestTokenStaysOnItsOrigin(t *testing.T) {
	for _, at := range []string{"GET /repos/owner/repo/git/ref/heads/pins", "POST /repos/owner/repo/git/trees"} {
		t.Run(at, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			mirror := fake.StartMirror(t)
			var fired atomic.Bool
			fake.OnRequest(func(method, path string) {
				if method+" "+path == at && fired.CompareAndSwap(false, true) {
					fake.RedirectNext(1, http.StatusTemporaryRedirect, mirror.URL)
				}
			})
			_, err := Publish(context.Background(), gh, opts(fake), bundle("one"))
			if !fired.Load() {
				t.Fatal("no redirect was made")
			}
			for _, a := range mirror.Authorizations() {
				if a != "" {
					t.Errorf("the other origin got Authorization %q", a)
				}
			}
			var re *httpauth.RedirectError
			if !errors.As(err, &re) {
				t.Fatalf("Publish = %v, want a *httpauth.RedirectError", err)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(mirror.URL, "http://")) {
				t.Errorf("error %q does not name the other origin", err)
			}
		})
	}
}

// TestRateLimits: a wait GitHub asks for beyond the policy's cap fails at
// once, naming the reason and the time; a short one is waited out.
func TestRateLimits(t *testing.T) {
	tests := []struct {
		name      string
		limit     fakegithub.Limit
		wait      time.Duration
		wantWait  string        // in the *retry.WaitError, or "" for success
		wantSleep time.Duration // the first wait, on success
	}{
		{"primary, reset in an hour", fakegithub.PrimaryLimit, time.Hour, "rate limit used up until", 0},
		{"secondary, Retry-After a day", fakegithub.SecondaryLimit, 24 * time.Hour, "Retry-After: 24h0m0s", 0},
		{"429, Retry-After a day", fakegithub.TooManyRequests, 24 * time.Hour, "Retry-After: 24h0m0s", 0},
		{"429, Retry-After 2s", fakegithub.TooManyRequests, 2 * time.Second, "", 2 * time.Second},
		// go-github then waits for X-RateLimit-Reset, an hour away here.
		{"secondary, no Retry-After", fakegithub.SecondaryLimitNoWait, 0, "secondary rate limit", 0},
		// Waited for real: go-github sends nothing before the reset.
		{"primary, reset in 2s", fakegithub.PrimaryLimit, 2 * time.Second, "", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			var s sleeps
			o := opts(fake)
			o.Retry = retry.Policy{Sleep: func(ctx context.Context, d time.Duration) error {
				s.sleep(ctx, d)
				if tt.limit == fakegithub.PrimaryLimit && tt.wait < 5*time.Second {
					return retry.Sleep(ctx, d)
				}
				return nil
			}, MaxServerWait: time.Minute}
			fake.LimitNext(1, tt.limit, tt.wait)
			res, err := Publish(context.Background(), gh, o, bundle("one"))
			if tt.wantWait == "" {
				if err != nil {
					t.Fatalf("Publish: %v", err)
				}
				if got := s.all(); len(got) != 1 || got[0] < tt.wantSleep || got[0] > tt.wantSleep+2*time.Second || res.Attempts != 2 {
					t.Errorf("slept %v over %d attempts, want one wait of about %s", got, res.Attempts, tt.wantSleep)
				}
				return
			}
			var we *retry.WaitError
			if !errors.As(err, &we) || we.Wait < min(tt.wait, 50*time.Minute)-2*time.Second {
				t.Fatalf("Publish = %v, want a *retry.WaitError of %s", err, tt.wait)
			}
			if !strings.Contains(err.Error(), tt.wantWait) || !strings.Contains(err.Error(), "longer than the 1m0s allowed") {
				t.Errorf("error %q does not give the reason %q and the cap", err, tt.wantWait)
			}
			if got := s.all(); len(got) != 0 {
				t.Errorf("slept %v, want to fail at once", got)
			}
			if n := len(fake.Requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// answer422 passes requests on but answers the first ref write (after the
// real one, when landed is set) with a 422 of unknown wording.
type answer422 struct {
	next   http.RoundTripper
	landed bool // pass the write on before answering 422
	done   atomic.Bool
}

func (a *answer422) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPatch || !strings.Contains(req.URL.Path, "/git/refs/") || !a.done.CompareAndSwap(false, true) {
		return a.next.RoundTrip(req)
	}
	if a.landed {
		resp, err := a.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusUnprocessableEntity, Status: "422 Unprocessable Entity", Request: req,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(`{"message":"Wording GitHub never used","status":"422"}`)),
	}, nil
}

// TestRefusedRefWriteDecidedByState: a 422 from writing the ref is decided
// by reading the ref again, whatever GitHub's message says.
func TestRefusedRefWriteDecidedByState(t *testing.T) {
	t.Run("another publisher moved it", func(t *testing.T) {
		for _, at := range []string{"POST /repos/owner/repo/git/refs", "PATCH /repos/owner/repo/git/refs/heads/pins"} {
			fake, gh := setup(t, fakegithub.Options{})
			if strings.HasPrefix(at, "PATCH") {
				mustPublish(t, gh, opts(fake), bundle("zero"))
			}
			var fired atomic.Bool
			var other *Result
			fake.OnRequest(func(method, path string) {
				if method+" "+path == at && fired.CompareAndSwap(false, true) {
					other = mustPublish(t, gh, opts(fake), bundle("other"))
					fake.FailNextWith(1, http.StatusUnprocessableEntity, "Wording GitHub never used")
				}
			})
			_, err := Publish(context.Background(), gh, opts(fake), bundle("mine"))
			var moved *MovedError
			if !errors.As(err, &moved) || moved.Head != other.CommitSHA {
				t.Errorf("%s: Publish = %v, want ErrMoved to the other publisher's %s", at, err, other.CommitSHA)
			}
			if head, _ := fake.Git("rev-parse", "pins"); head != other.CommitSHA {
				t.Errorf("%s: pins at %s, want the other publisher's %s", at, head, other.CommitSHA)
			}
		}
	})
	t.Run("the write landed", func(t *testing.T) {
		fake, gh := setup(t, fakegithub.Options{})
		first := mustPublish(t, gh, opts(fake), bundle("one"))
		odd, err := NewClient(&http.Client{Transport: &answer422{next: http.DefaultTransport, landed: true}}, fake.APIURL(), fake.Token)
		if err != nil {
			t.Fatal(err)
		}
		res := mustPublish(t, odd, opts(fake), bundle("two"))
		if res.Attempts != 1 || !res.Changed {
			t.Errorf("Result = %+v, want changed in one attempt", res)
		}
		if got := parents(t, fake, "pins"); len(got) != 2 || !slices.Equal(got[res.CommitSHA], []string{first.CommitSHA}) {
			t.Errorf("history = %v, want our one commit on top of %s", got, first.CommitSHA)
		}
	})
	t.Run("refused with the ref unchanged", func(t *testing.T) {
		fake, gh := setup(t, fakegithub.Options{})
		first := mustPublish(t, gh, opts(fake), bundle("one"))
		fake.OnRequest(func(method, path string) {
			if method == http.MethodPatch {
				fake.FailNextWith(1, http.StatusUnprocessableEntity, "Update is not a fast forward")
			}
		})
		o := opts(fake)
		o.Retry.Attempts = 3
		res, err := Publish(context.Background(), gh, o, bundle("two"))
		var ex *retry.ExhaustedError
		var apiErr *APIError
		if !errors.As(err, &ex) || ex.Attempts != 3 || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("Publish = %v, %v; want the 422 after 3 attempts", res, err)
		}
		if head, _ := fake.Git("rev-parse", "pins"); head != first.CommitSHA {
			t.Errorf("pins moved to %s", head)
		}
	})
}
