package cachix_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// prefix mounts the fake API below the root so that a client building
// absolute paths ("/api/...") instead of joining them to the base fails.
const prefix = "/prefix"

const token = "s3cr3t-token"

// reply is one canned answer of the test server.
type reply struct {
	status int
	header map[string]string
	body   string
	drop   bool // close the connection without answering
	short  bool // promise more bytes than are sent, then hang up
}

// server answers with replies in order (the last one repeats) and records
// what it saw.
type server struct {
	t        *testing.T
	srv      *httptest.Server
	wantPath string // escaped path, including prefix

	mu       sync.Mutex
	requests []*http.Request
	replies  []reply
}

func newServer(t *testing.T, wantPath string, replies ...reply) *server {
	t.Helper()
	s := &server{t: t, wantPath: wantPath, replies: replies}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, r)
	rep := s.replies[min(n, len(s.replies)-1)]
	s.mu.Unlock()

	if r.Method != http.MethodGet {
		s.t.Errorf("method = %s, want GET", r.Method)
	}
	if got := r.URL.EscapedPath(); got != s.wantPath {
		s.t.Errorf("path = %q, want %q", got, s.wantPath)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		s.t.Errorf("Accept = %q, want application/json", got)
	}
	switch {
	case rep.drop:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			s.t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
		return
	case rep.short:
		w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)+100))
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write([]byte(rep.body))
}

func (s *server) seen() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

// sleeper records the waits instead of sleeping.
type sleeper struct{ got []time.Duration }

func (sl *sleeper) sleep(ctx context.Context, d time.Duration) error {
	sl.got = append(sl.got, d)
	return ctx.Err()
}

const pinsJSON = `[
  {"name": "hello.x86_64-linux", "createdOn": "2024-05-01T10:00:00Z", "extra": 1,
   "lastRevision": {"storePath": "/nix/store/0c0ay9a5hkd0hk2q4pq6ah6nkx7qmn0j-hello", "createdOn": "2024-05-02T10:00:00Z", "revision": 3, "artifacts": ["bin/hello"]}},
  {"name": "v1.7", "lastRevision": {"storePath": "/nix/store/1c0ay9a5hkd0hk2q4pq6ah6nkx7qmn0j-tool", "revision": 1, "artifacts": []}}
]`

var wantPins = []cachix.Pin{
	{
		Name:      "hello.x86_64-linux",
		CreatedOn: "2024-05-01T10:00:00Z",
		LastRevision: cachix.Revision{
			StorePath: "/nix/store/0c0ay9a5hkd0hk2q4pq6ah6nkx7qmn0j-hello",
			CreatedOn: "2024-05-02T10:00:00Z",
			Revision:  3,
			Artifacts: []string{"bin/hello"},
		},
	},
	{
		Name: "v1.7",
		LastRevision: cachix.Revision{
			StorePath: "/nix/store/1c0ay9a5hkd0hk2q4pq6ah6nkx7qmn0j-tool",
			Revision:  1,
			// "artifacts": [] on the wire: no artifacts, nil like a missing list.
		},
	},
}

func TestPins(t *testing.T) {
	fixedNow := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		token     string
		userAgent string
		opts      []cachix.Option
		replies   []reply

		wantPins     []cachix.Pin
		wantErr      []string // substrings of the error
		wantIs       []error
		wantStatus   int // of the *APIError inside, if any
		wantRequests int
		wantSleeps   []time.Duration // exact waits (Retry-After)
		sleepBounds  []time.Duration // upper bounds of jittered waits
	}{
		{
			name:         "success",
			replies:      []reply{{body: pinsJSON}},
			wantPins:     wantPins,
			wantRequests: 1,
		},
		{
			name:         "token and user agent",
			token:        " " + token + "\n",
			userAgent:    "test-agent/1",
			replies:      []reply{{body: pinsJSON}},
			wantPins:     wantPins,
			wantRequests: 1,
		},
		{
			name:         "empty list",
			replies:      []reply{{body: "[]"}},
			wantPins:     []cachix.Pin{},
			wantRequests: 1,
		},
		{
			name:         "401 without token",
			replies:      []reply{{status: 401, body: `{"error":"Unauthorized."}`}},
			wantErr:      []string{`cache "demo" needs an auth token`, "401 Unauthorized: Unauthorized.", prefix + "/api/v1/cache/demo/pin"},
			wantIs:       []error{cachix.ErrUnauthorized},
			wantStatus:   401,
			wantRequests: 1,
		},
		{
			name:         "401 with token never shows the token",
			token:        token,
			replies:      []reply{{status: 401, body: `{"error":"bad token Bearer ` + token + `"}`}},
			wantErr:      []string{`lacks read access to cache "demo"`, "[REDACTED]"},
			wantIs:       []error{cachix.ErrUnauthorized},
			wantStatus:   401,
			wantRequests: 1,
		},
		{
			name:         "403 with token",
			token:        token,
			replies:      []reply{{status: 403, body: `{"message":"Forbidden"}`}},
			wantErr:      []string{"lacks read access", "403 Forbidden: Forbidden"},
			wantIs:       []error{cachix.ErrUnauthorized},
			wantStatus:   403,
			wantRequests: 1,
		},
		{
			name:         "404",
			replies:      []reply{{status: 404, body: `{"error":"Cache not found"}`}},
			wantErr:      []string{`cache "demo" not found`, "404 Not Found"},
			wantIs:       []error{cachix.ErrNotFound},
			wantStatus:   404,
			wantRequests: 1,
		},
		{
			name:         "400 is not retried",
			replies:      []reply{{status: 400, body: "  bad\n\n request  "}},
			wantErr:      []string{"400 Bad Request: bad request"},
			wantStatus:   400,
			wantRequests: 1,
		},
		{
			name: "429 with Retry-After seconds, then success",
			replies: []reply{
				{status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"error":"slow down"}`},
				{body: pinsJSON},
			},
			wantPins:     wantPins,
			wantRequests: 2,
			wantSleeps:   []time.Duration{7 * time.Second},
		},
		{
			name: "Retry-After over the cap fails at once with the reason",
			replies: []reply{
				{status: 429, header: map[string]string{"Retry-After": "86400"}, body: `{"error":"come back tomorrow"}`},
				{body: pinsJSON},
			},
			wantErr:      []string{"asked to wait 24h0m0s (Retry-After: 24h0m0s)", "longer than the 1m0s allowed", "429 Too Many Requests: come back tomorrow"},
			wantIs:       []error{},
			wantStatus:   429,
			wantRequests: 1,
		},
		{
			name: "Retry-After as an HTTP date",
			replies: []reply{
				{status: 503, header: map[string]string{"Retry-After": fixedNow.Add(5 * time.Second).Format(http.TimeFormat)}},
				{status: 429, header: map[string]string{"Retry-After": fixedNow.Add(3 * time.Second).Format(http.TimeFormat)}},
				{body: pinsJSON},
			},
			wantPins:     wantPins,
			wantRequests: 3,
			wantSleeps:   []time.Duration{5 * time.Second, 3 * time.Second},
		},
		{
			name: "503 twice, then success",
			replies: []reply{
				{status: 503, body: "<html>down</html>"},
				{status: 503},
				{body: pinsJSON},
			},
			wantPins:     wantPins,
			wantRequests: 3,
			sleepBounds:  []time.Duration{100 * time.Millisecond, 200 * time.Millisecond},
		},
		{
			name:         "retries exhausted",
			replies:      []reply{{status: 502, body: "<html><body>Bad gateway</body></html>"}},
			wantErr:      []string{"gave up after 4 attempts", "502 Bad Gateway", "<html><body>Bad gateway</body></html>"},
			wantStatus:   502,
			wantRequests: 4,
			sleepBounds:  []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
		},
		{
			name:         "long error body is cut",
			opts:         []cachix.Option{cachix.WithRetry(retry.Policy{Attempts: 1})},
			replies:      []reply{{status: 500, body: strings.Repeat("é", 300)}},
			wantErr:      []string{"gave up after 1 attempt:", "500 Internal Server Error: " + strings.Repeat("é", 100) + "…"},
			wantStatus:   500,
			wantRequests: 1,
		},
		{
			name:         "network error, then success",
			replies:      []reply{{drop: true}, {body: pinsJSON}},
			wantPins:     wantPins,
			wantRequests: 2,
			sleepBounds:  []time.Duration{100 * time.Millisecond},
		},
		{
			name:         "body cut off by the connection, then success",
			replies:      []reply{{short: true, body: pinsJSON[:20]}, {body: pinsJSON}},
			wantPins:     wantPins,
			wantRequests: 2,
			sleepBounds:  []time.Duration{100 * time.Millisecond},
		},
		{
			name:         "truncated JSON",
			replies:      []reply{{body: pinsJSON[:40]}},
			wantErr:      []string{"GET http://", prefix + "/api/v1/cache/demo/pin", "truncated JSON", "unexpected end of JSON input"},
			wantRequests: 1,
		},
		{
			name:         "wrong field type",
			replies:      []reply{{body: "[\n {\"name\": 5}]"}},
			wantErr:      []string{"GET http://", "pin .[0] (line 2, column 11): name is the number 5, expected a string", "please report it"},
			wantRequests: 1,
		},
		{
			name:         "oversized body",
			opts:         []cachix.Option{cachix.WithMaxBodySize(10)},
			replies:      []reply{{body: "[]         "}},
			wantErr:      []string{"over the 10-byte limit"},
			wantIs:       []error{cachix.ErrTooLarge},
			wantRequests: 1,
		},
		{
			name:         "body exactly at the limit",
			opts:         []cachix.Option{cachix.WithMaxBodySize(10)},
			replies:      []reply{{body: "[]        "}},
			wantPins:     []cachix.Pin{},
			wantRequests: 1,
		},
		{
			name:         "error object with status 200",
			replies:      []reply{{body: `{"error":"boom"}`}},
			wantErr:      []string{"expected a JSON array of pins, got an error object: boom"},
			wantRequests: 1,
		},
		{
			name:         "null",
			replies:      []reply{{body: "null"}},
			wantErr:      []string{"expected a JSON array of pins, got null"},
			wantRequests: 1,
		},
		{
			name:         "HTML with status 200",
			replies:      []reply{{body: "<html>login</html>"}},
			wantErr:      []string{"not JSON", "<html>login</html>"},
			wantRequests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, prefix+"/api/v1/cache/demo/pin", tt.replies...)
			sl := &sleeper{}
			opts := append([]cachix.Option{
				cachix.WithRetry(retry.Policy{Attempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 10 * time.Second,
					MaxServerWait: time.Minute, Sleep: sl.sleep, Now: func() time.Time { return fixedNow }}),
				cachix.WithToken(tt.token),
				cachix.WithUserAgent(tt.userAgent),
			}, tt.opts...)
			c, err := cachix.New(s.srv.URL+prefix+"/", opts...)
			if err != nil {
				t.Fatal(err)
			}

			pins, err := c.Pins(context.Background(), "demo")

			if len(tt.wantErr) == 0 && len(tt.wantIs) == 0 && tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Pins: %v", err)
				}
				if diff := cmp.Diff(tt.wantPins, pins); diff != "" {
					t.Errorf("pins (-want +got):\n%s", diff)
				}
			} else {
				if err == nil {
					t.Fatalf("Pins succeeded with %v, want an error", pins)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				for _, want := range tt.wantIs {
					if !errors.Is(err, want) {
						t.Errorf("errors.Is(%q, %v) = false", err, want)
					}
				}
				var apiErr *cachix.APIError
				if got := errors.As(err, &apiErr); got != (tt.wantStatus != 0) {
					t.Errorf("errors.As(*APIError) = %v, want %v", got, tt.wantStatus != 0)
				} else if got && apiErr.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", apiErr.StatusCode, tt.wantStatus)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("error %q shows the token", err)
				}
			}

			reqs := s.seen()
			if len(reqs) != tt.wantRequests {
				t.Errorf("%d requests, want %d", len(reqs), tt.wantRequests)
			}
			wantAuth, wantUA := "", cachix.DefaultUserAgent
			if tt.token != "" {
				wantAuth = "Bearer " + strings.TrimSpace(tt.token)
			}
			if tt.userAgent != "" {
				wantUA = tt.userAgent
			}
			for i, r := range reqs {
				if got := r.Header.Get("Authorization"); got != wantAuth {
					t.Errorf("request %d: Authorization = %q, want %q", i, got, wantAuth)
				}
				if _, ok := r.Header["Authorization"]; !ok && wantAuth != "" || ok && wantAuth == "" {
					t.Errorf("request %d: Authorization present = %v, want %v", i, ok, wantAuth != "")
				}
				if got := r.Header.Get("User-Agent"); got != wantUA {
					t.Errorf("request %d: User-Agent = %q, want %q", i, got, wantUA)
				}
			}

			switch {
			case tt.wantSleeps != nil:
				if diff := cmp.Diff(tt.wantSleeps, sl.got); diff != "" {
					t.Errorf("sleeps (-want +got):\n%s", diff)
				}
			case tt.sleepBounds != nil:
				if len(sl.got) != len(tt.sleepBounds) {
					t.Fatalf("sleeps = %v, want %d of them", sl.got, len(tt.sleepBounds))
				}
				for i, d := range sl.got {
					if d < 0 || d > tt.sleepBounds[i] {
						t.Errorf("sleep %d = %v, want within [0, %v]", i, d, tt.sleepBounds[i])
					}
				}
			default:
				if len(sl.got) != 0 {
					t.Errorf("sleeps = %v, want none", sl.got)
				}
			}
		})
	}
}

func TestPinsEscapesCacheNameAndKeepsPrefix(t *testing.T) {
	for _, base := range []string{prefix, prefix + "/"} {
		t.Run(base, func(t *testing.T) {
			s := newServer(t, prefix+"/api/v1/cache/a%20b%2Fc%3F/pin", reply{body: "[]"})
			c, err := cachix.New(s.srv.URL + base)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Pins(context.Background(), "a b/c?"); err != nil {
				t.Fatal(err)
			}
			if n := len(s.seen()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestPinsRejectsDotNames(t *testing.T) {
	c, err := cachix.New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", ".."} {
		if _, err := c.Pins(context.Background(), name); err == nil || !strings.Contains(err.Error(), "invalid cache name") {
			t.Errorf("Pins(%q) error = %v, want invalid cache name", name, err)
		}
	}
}

func TestCache(t *testing.T) {
	tests := []struct {
		name    string
		replies []reply
		want    *cachix.CacheInfo
		wantErr string
		wantIs  error
	}{
		{
			name: "success",
			replies: []reply{{body: `{"name":"demo","uri":"https://demo.cachix.org","isPublic":true,
				"publicSigningKeys":["demo.cachix.org-1:AAAA"],"githubUsername":"someone",
				"permission":"Read","preferredCompressionMethod":"ZSTD","unknown":[1]}`}},
			want: &cachix.CacheInfo{
				Name:                       "demo",
				URI:                        "https://demo.cachix.org",
				IsPublic:                   true,
				PublicSigningKeys:          []string{"demo.cachix.org-1:AAAA"},
				GithubUsername:             "someone",
				Permission:                 "Read",
				PreferredCompressionMethod: "ZSTD",
			},
		},
		{
			name:    "404",
			replies: []reply{{status: 404, body: `{"error":"Cache not found"}`}},
			wantErr: `cache "demo" not found`,
			wantIs:  cachix.ErrNotFound,
		},
		{
			name:    "array instead of object",
			replies: []reply{{body: `[]`}},
			wantErr: "expected a JSON object describing the cache, got an array",
		},
		{
			name:    "error object with status 200",
			replies: []reply{{body: `{"error":"nope"}`}},
			wantErr: "got an error object: nope",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, prefix+"/api/v1/cache/demo", tt.replies...)
			c, err := cachix.New(s.srv.URL+prefix, cachix.WithRetry(retry.Policy{Sleep: (&sleeper{}).sleep}))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Cache(context.Background(), "demo")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("cache info (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%q, %v) = false", err, tt.wantIs)
			}
		})
	}
}

func TestServerGoneRetriesThenGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + prefix
	srv.Close() // nothing listens there any more: connection refused

	sl := &sleeper{}
	var events []retry.Event
	c, err := cachix.New(base, cachix.WithRetry(retry.Policy{
		Attempts: 3, BaseDelay: time.Second, MaxDelay: 3 * time.Second, Sleep: sl.sleep,
		OnRetry: func(e retry.Event) { events = append(events, e) },
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pins(context.Background(), "demo")
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("error = %v, want gave up after 3 attempts", err)
	}
	if len(sl.got) != 2 {
		t.Errorf("sleeps = %v, want 2", sl.got)
	}
	if len(events) != 2 || events[0].Attempt != 1 || events[1].Attempt != 2 || events[1].Attempts != 3 || events[0].Err == nil {
		t.Errorf("retry events = %+v, want attempts 1 and 2 of 3 with errors", events)
	}
	for i, e := range events {
		if e.Wait != sl.got[i] {
			t.Errorf("event %d delay %v, slept %v", i, e.Wait, sl.got[i])
		}
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	s := newServer(t, prefix+"/api/v1/cache/demo/pin", reply{status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := cachix.New(s.srv.URL+prefix, cachix.WithRetry(retry.Policy{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel() // the user gives up while we wait
		<-ctx.Done()
		return ctx.Err()
	}}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pins(ctx, "demo")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("error %q does not tell the last failure", err)
	}
	if n := len(s.seen()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestCanceledContextMakesNoRetry(t *testing.T) {
	s := newServer(t, prefix+"/api/v1/cache/demo/pin", reply{body: "[]"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sl := &sleeper{}
	c, err := cachix.New(s.srv.URL+prefix, cachix.WithRetry(retry.Policy{Sleep: sl.sleep}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pins(ctx, "demo")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if n := len(s.seen()); n != 0 || len(sl.got) != 0 {
		t.Errorf("%d requests and sleeps %v, want none", n, sl.got)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		opts    []cachix.Option
		wantErr string
	}{
		{"no scheme", "app.cachix.org", nil, "http(s) URL"},
		{"ftp", "ftp://app.cachix.org", nil, "http(s) URL"},
		{"query", "https://app.cachix.org/?x=1", nil, "query"},
		{"password is not shown", "https://user:hunter2@app.cachix.org/?x", nil, "xxxxx"},
		{"zero attempts", "https://app.cachix.org", []cachix.Option{cachix.WithRetry(retry.Policy{Attempts: -1})}, "at least 1"},
		{"negative delay", "https://app.cachix.org", []cachix.Option{cachix.WithRetry(retry.Policy{BaseDelay: -1})}, "negative"},
		{"zero body size", "https://app.cachix.org", []cachix.Option{cachix.WithMaxBodySize(0)}, "body size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cachix.New(tt.base, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{401, cachix.ErrUnauthorized},
		{403, cachix.ErrUnauthorized},
		{404, cachix.ErrNotFound},
		{500, nil},
	}
	for _, tt := range tests {
		err := error(&cachix.APIError{Method: "GET", URL: "u", StatusCode: tt.status, Cache: "c"})
		for _, sentinel := range []error{cachix.ErrUnauthorized, cachix.ErrNotFound, cachix.ErrTooLarge} {
			if got := errors.Is(err, sentinel); got != (sentinel == tt.want) {
				t.Errorf("status %d: errors.Is(%v) = %v", tt.status, sentinel, got)
			}
		}
	}
}
