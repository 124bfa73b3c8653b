package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/publish/branch"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// TestExplainAddsOptions: inner packages name no option; the CLI adds which
// one to change.
func TestExplainAddsOptions(t *testing.T) {
	cfg := &config.Config{CachixURL: "https://app.cachix.org", GitHubAPIURL: "https://api.github.com"}
	origin := func(s string) httpauth.Origin {
		u, _ := url.Parse(s)
		return httpauth.OriginOf(u)
	}
	tests := []struct {
		name string
		err  error
		want string // "" for no hint
	}{
		{"private cache, no token", &cachix.APIError{StatusCode: 401, Cache: "c"}, "pass --auth-token"},
		{"token refused", &cachix.APIError{StatusCode: 403, Cache: "c", TokenSent: true}, "check --auth-token (CACHIX_AUTH_TOKEN)"},
		{"no such cache", &cachix.APIError{StatusCode: 404, Cache: "c"}, "check --cache (and --cachix-url)"},
		{"cachix 500", &cachix.APIError{StatusCode: 500, Cache: "c"}, ""},
		{"foreign branch", fmt.Errorf("publishing: %w", &branch.ForeignBranchError{Branch: "pins", Reason: "it has no .create-pin-refs file"}), "pass --force-branch"},
		{"default branch", fmt.Errorf("x: %w", branch.ErrDefaultBranch), "choose another --branch"},
		{"redirect from GitHub", &url.Error{Op: "Get", URL: "https://elsewhere/", Err: &httpauth.RedirectError{From: origin("https://api.github.com"), To: origin("https://elsewhere")}}, "check --github-api-url"},
		{"Cachix's name does not resolve", &retry.PermanentError{Reason: "a name that does not resolve", Err: &url.Error{Op: "Get", URL: "https://app.cachix.org/api/v1/cache/c", Err: &net.DNSError{Err: "no such host", Name: "app.cachix.org", IsNotFound: true}}}, "is --cachix-url right?"},
		{"unreachable Cachix", &retry.ExhaustedError{Attempts: 5, Err: &url.Error{Op: "Get", URL: "https://app.cachix.org/api/v1/cache/c/pin", Err: errors.New("connection refused")}}, "is --cachix-url right?"},
	}
	for _, tt := range tests {
		got := explain(tt.err, cfg)
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: explain lost the error: %v", tt.name, got)
		}
		hint := strings.TrimPrefix(got.Error(), tt.err.Error())
		if tt.want == "" && hint != "" || !strings.Contains(hint, tt.want) {
			t.Errorf("%s: hint %q, want %q", tt.name, hint, tt.want)
		}
		if inner := tt.err.Error(); strings.Contains(inner, "--") {
			t.Errorf("%s: the inner error names an option: %q", tt.name, inner)
		}
	}
}

// TestTimeoutEndsAHangingRun: a Cachix that accepts the request and never
// answers ends the run at --timeout, with the reason.
func TestTimeoutEndsAHangingRun(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	r := run(t, nil, "--cache", "demo", "--cachix-url", srv.URL, "--out", t.TempDir(), "--timeout", "1s")
	if r.code != ExitError || !strings.Contains(r.stderr, "the run's deadline of 1s passed") {
		t.Errorf("exit %d, want %d with the deadline named:\n%s", r.code, ExitError, r.stderr)
	}
}

// TestBranchModeLongRetryAfterFailsAtOnce: GitHub answering 429 with
// Retry-After: 86400 ends the run at once, saying how long it asked for,
// instead of waiting out retries.
func TestBranchModeLongRetryAfterFailsAtOnce(t *testing.T) {
	if !fakegithub.HaveGit() {
		t.Skip("needs git")
	}
	cx := fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo", Pins: examplePins(t)}}})
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo", Repo: "pins", Token: token})
	gh.LimitNext(100, fakegithub.TooManyRequests, 24*time.Hour)
	start := time.Now()
	r := run(t, map[string]string{"GITHUB_TOKEN": token}, "--cache", "demo", "--cachix-url", cx.URL(), "--out", t.TempDir(),
		"--mode", "branch", "--repo", "octo/pins", "--github-api-url", gh.APIURL())
	t.Logf("failed after %s", time.Since(start).Round(time.Millisecond))
	if r.code != ExitError || !strings.Contains(r.stderr, "asked to wait 24h0m0s (Retry-After: 24h0m0s)") {
		t.Errorf("exit %d, want %d naming the wait:\n%s", r.code, ExitError, r.stderr)
	}
	if n := len(gh.Requests()); n != 1 {
		t.Errorf("%d requests to GitHub, want 1", n)
	}
}
