package cachix_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// authLog records the Authorization header of every request a server gets.
type authLog struct {
	mu  sync.Mutex
	got []string
}

func (a *authLog) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.got = append(a.got, r.Header.Get("Authorization"))
		a.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (a *authLog) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...)
}

func pinsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[]")) })
}

// The API redirects to another origin (another port; https to http): the
// token must not reach it, and the call fails naming both origins.
func TestTokenNeverFollowsARedirectToAnotherOrigin(t *testing.T) {
	for _, tt := range []struct {
		name     string
		apiTLS   bool
		otherTLS bool
	}{
		{"another port", false, false},
		{"https to http", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var otherLog, apiLog authLog
			other := httptest.NewUnstartedServer(otherLog.handler(pinsHandler()))
			if tt.otherTLS {
				other.StartTLS()
			} else {
				other.Start()
			}
			t.Cleanup(other.Close)
			api := httptest.NewUnstartedServer(apiLog.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
			})))
			if tt.apiTLS {
				api.StartTLS()
			} else {
				api.Start()
			}
			t.Cleanup(api.Close)

			hc := api.Client()
			c, err := cachix.New(api.URL, cachix.WithHTTPClient(hc), cachix.WithToken(token),
				cachix.WithRetry(retry.Policy{Sleep: (&sleeper{}).sleep}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Pins(context.Background(), "demo")
			if got := otherLog.seen(); len(got) != 0 {
				t.Errorf("the other origin got %d requests (Authorization %q), want none", len(got), got)
			}
			var re *httpauth.RedirectError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *httpauth.RedirectError", err)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(strings.TrimPrefix(other.URL, "https://"), "http://")) {
				t.Errorf("err %q does not name the other origin", err)
			}
			if got := apiLog.seen(); len(got) != 1 || got[0] != "Bearer "+token {
				t.Errorf("the API got %q, want the token once (a refused redirect is not retried)", got)
			}
		})
	}
}

func TestTokenOverPlainHTTPRefused(t *testing.T) {
	_, err := cachix.New("http://cachix.example.com", cachix.WithToken(token))
	var ie *httpauth.InsecureError
	if !errors.As(err, &ie) {
		t.Fatalf("New = %v, want an *httpauth.InsecureError", err)
	}
	if _, err := cachix.New("http://cachix.example.com"); err != nil {
		t.Errorf("without a token: %v", err)
	}
	if _, err := cachix.New("http://127.0.0.1:1", cachix.WithToken(token)); err != nil {
		t.Errorf("loopback: %v", err)
	}
}

// A server that accepts the request and never answers: each attempt ends
// at AttemptTimeout and the call at the run's deadline, not after minutes.
func TestHangingCachixHitsTheDeadline(t *testing.T) {
	release := make(chan struct{})
	var calls sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		defer calls.Done()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	p := retry.Policy{Attempts: 50, AttemptTimeout: 50 * time.Millisecond, Deadline: 300 * time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	c, err := cachix.New(srv.URL, cachix.WithRetry(p))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := p.Bound(context.Background())
	defer cancel()
	_, err = c.Pins(ctx, "demo")
	var de *retry.DeadlineError
	if !errors.As(err, &de) || de.Limit != p.Deadline {
		t.Fatalf("err = %v, want the run's *retry.DeadlineError", err)
	}
	if !strings.Contains(err.Error(), "/api/v1/cache/demo/pin") {
		t.Errorf("err %q does not name the request", err)
	}
}
