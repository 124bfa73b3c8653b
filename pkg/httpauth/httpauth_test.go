package httpauth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
)

const token = "s3cr3t"

// recorder is a server that records the Authorization header of each
// request, and redirects to `to` when it is set.
type recorder struct {
	srv *httptest.Server
	to  string

	mu   sync.Mutex
	auth []string
}

func newRecorder(t *testing.T, tls bool) *recorder {
	r := &recorder{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		to := r.to
		r.mu.Unlock()
		if to != "" && req.URL.Path == "/start" {
			http.Redirect(w, req, to+"/end", http.StatusTemporaryRedirect)
			return
		}
		io.WriteString(w, "ok")
	})
	if tls {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

func get(t *testing.T, c *http.Client, url string) error {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func TestTokenGoesToItsOriginOnly(t *testing.T) {
	api := newRecorder(t, false)
	other := newRecorder(t, false) // same host, another port
	api.to = other.srv.URL
	c, err := httpauth.Client(nil, api.srv.URL+"/api", token)
	if err != nil {
		t.Fatal(err)
	}

	if err := get(t, c, api.srv.URL+"/plain"); err != nil {
		t.Fatal(err)
	}
	err = get(t, c, api.srv.URL+"/start")
	var re *httpauth.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("redirect to another port: err = %v, want a *RedirectError", err)
	}
	for _, want := range []string{api.srv.URL, other.srv.URL} {
		if !strings.Contains(err.Error(), strings.TrimPrefix(want, "http://")) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	// A direct request elsewhere goes out without the token.
	if err := get(t, c, other.srv.URL+"/direct"); err != nil {
		t.Fatal(err)
	}
	if got := api.seen(); len(got) != 2 || got[0] != "Bearer "+token || got[1] != "Bearer "+token {
		t.Errorf("API origin saw %q, want the token twice", got)
	}
	if got := other.seen(); len(got) != 1 || got[0] != "" {
		t.Errorf("other origin saw %q, want one request without Authorization", got)
	}
}

func TestHTTPSToHTTPRedirectRefused(t *testing.T) {
	api := newRecorder(t, true)
	plain := newRecorder(t, false)
	api.to = plain.srv.URL
	c, err := httpauth.Client(api.srv.Client(), api.srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	var re *httpauth.RedirectError
	if err := get(t, c, api.srv.URL+"/start"); !errors.As(err, &re) || re.To.Scheme != "http" || re.From.Scheme != "https" {
		t.Fatalf("https to http: err = %v, want a *RedirectError from https to http", err)
	}
	if got := plain.seen(); len(got) != 0 {
		t.Errorf("http origin saw %q, want no request", got)
	}
}

func TestSameOriginRedirectKeepsToken(t *testing.T) {
	api := newRecorder(t, false)
	api.to = api.srv.URL
	c, err := httpauth.Client(nil, api.srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(t, c, api.srv.URL+"/start"); err != nil {
		t.Fatal(err)
	}
	if got := api.seen(); len(got) != 2 || got[1] != "Bearer "+token {
		t.Errorf("saw %q, want the token on both hops", got)
	}
}

// setsAuth is a library's transport that adds the header itself on every
// request, as go-github's WithAuthToken does.
type setsAuth struct{ base http.RoundTripper }

func (s setsAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+token)
	return s.base.RoundTrip(r)
}

func TestHeaderSetByALibraryIsStrippedElsewhere(t *testing.T) {
	api := newRecorder(t, false)
	other := newRecorder(t, false)
	c, err := httpauth.Client(&http.Client{Transport: nil}, api.srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	// The library wraps our client's transport from outside.
	lib := &http.Client{Transport: setsAuth{c.Transport}, CheckRedirect: c.CheckRedirect}
	if err := get(t, lib, other.srv.URL+"/x"); err != nil {
		t.Fatal(err)
	}
	if got := other.seen(); len(got) != 1 || got[0] != "" {
		t.Errorf("other origin saw %q, want no Authorization", got)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		url, token string
		insecure   bool
		bad        bool
	}{
		{"https://app.cachix.org", token, false, false},
		{"http://127.0.0.1:8080/api", token, false, false},
		{"http://127.9.9.9", token, false, false},
		{"http://localhost:1", token, false, false},
		{"http://[::1]:1", token, false, false},
		{"http://app.cachix.org", "", false, false},
		{"http://app.cachix.org", token, true, false},
		{"http://10.0.0.1", token, true, false},
		{"http://localhost.example.com", token, true, false},
		{"https://app.cachix.org", "abc\ndef", false, true},
		{"ftp://x", token, false, true},
	}
	for _, tt := range tests {
		err := httpauth.Check(tt.url, tt.token)
		var ie *httpauth.InsecureError
		if got := errors.As(err, &ie); got != tt.insecure {
			t.Errorf("Check(%q): err = %v, insecure %v, want %v", tt.url, err, got, tt.insecure)
		}
		if got := err != nil && !tt.insecure; got != tt.bad {
			t.Errorf("Check(%q, %q): err = %v, want an error: %v", tt.url, tt.token, err, tt.bad)
		}
		if _, cerr := httpauth.Client(nil, tt.url, tt.token); (cerr == nil) != (err == nil) {
			t.Errorf("Client(%q) = %v, Check = %v: they disagree", tt.url, cerr, err)
		}
	}
}

func TestOriginOf(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"https://Example.com/x", "https://example.com:443/y", true},
		{"http://example.com", "http://example.com:80", true},
		{"https://example.com", "http://example.com", false},
		{"https://example.com", "https://example.com:8443", false},
		{"https://example.com", "https://api.example.com", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := httpauth.OriginOf(a) == httpauth.OriginOf(b); got != tt.same {
			t.Errorf("same origin %s, %s = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

func TestBasicGoesToItsOriginOnly(t *testing.T) {
	cache := newRecorder(t, false)
	other := newRecorder(t, false)
	cache.to = other.srv.URL
	c, err := httpauth.BasicClient(nil, cache.srv.URL+"/cache", httpauth.Basic{Login: "u", Password: token})
	if err != nil {
		t.Fatal(err)
	}
	if err := get(t, c, cache.srv.URL+"/x.narinfo"); err != nil {
		t.Fatal(err)
	}
	var re *httpauth.RedirectError
	if err := get(t, c, cache.srv.URL+"/start"); !errors.As(err, &re) {
		t.Fatalf("redirect to another origin: err = %v, want a *RedirectError", err)
	}
	if err := get(t, c, other.srv.URL+"/direct"); err != nil {
		t.Fatal(err)
	}
	want := "Basic dTpzM2NyM3Q=" // u:s3cr3t
	if got := cache.seen(); len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("cache origin saw %q, want %q twice", got, want)
	}
	if got := other.seen(); len(got) != 1 || got[0] != "" {
		t.Errorf("other origin saw %q, want one request without Authorization", got)
	}
}

func TestBasicRefusedOverHTTP(t *testing.T) {
	for _, tt := range []struct {
		url      string
		insecure bool
	}{
		{"https://cache.example", false},
		{"http://127.0.0.1:1/cache", false},
		{"http://cache.example", true},
	} {
		_, err := httpauth.BasicClient(nil, tt.url, httpauth.Basic{Password: token})
		var ie *httpauth.InsecureError
		if got := errors.As(err, &ie); got != tt.insecure || (!tt.insecure && err != nil) {
			t.Errorf("BasicClient(%q) = %v, want insecure %v", tt.url, err, tt.insecure)
		}
		if tt.insecure && (!strings.Contains(err.Error(), "login and password") || strings.Contains(err.Error(), token)) {
			t.Errorf("error %q: want it to name a login and password, not show it", err)
		}
	}
}
