package fakegithub

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The primary rate limit every answer reports in X-RateLimit-* headers, as
// GitHub does for a token: a budget per hour, counted down per request.
const rateLimit = 5000

// Real bodies of GitHub's rate-limit answers (the request ID elided).
const (
	primaryLimitMessage   = "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000 and timestamp 2026-01-01 00:00:00 UTC."
	primaryLimitDoc       = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	secondaryLimitMessage = "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000 and timestamp 2026-01-01 00:00:00 UTC."
	secondaryLimitDoc     = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// Limit is a rate-limit answer GitHub gives.
type Limit int

const (
	// PrimaryLimit: 403, X-RateLimit-Remaining 0 and X-RateLimit-Reset at
	// the end of the wait.
	PrimaryLimit Limit = iota + 1
	// SecondaryLimit: 403 with the secondary-limit body and Retry-After.
	SecondaryLimit
	// SecondaryLimitNoWait: the same without Retry-After, which GitHub
	// documents as "wait at least one minute".
	SecondaryLimitNoWait
	// TooManyRequests: 429 with Retry-After.
	TooManyRequests
)

// limits is the rate-limit state of a Server.
type limits struct {
	mu        sync.Mutex
	used      int
	reset     time.Time
	left      int // answers still to refuse
	kind      Limit
	wait      time.Duration
	redirects int
	redirCode int
	redirTo   string
}

// LimitNext makes the next n requests answer as GitHub does when the limit l
// is hit, asking to wait wait.
func (s *Server) LimitNext(n int, l Limit, wait time.Duration) {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.left, s.limits.kind, s.limits.wait = n, l, wait
}

// RedirectNext makes the next n requests answer status (301, 302, 307 or
// 308) with a Location on base (e.g. a Mirror's URL) and the same path.
func (s *Server) RedirectNext(n, status int, base string) {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.redirects, s.limits.redirCode, s.limits.redirTo = n, status, base
}

// rateHeaders sets the X-RateLimit-* headers of an answer and answers a
// requested rate limit or redirect; it reports whether it answered.
func (s *Server) rateHeaders(w http.ResponseWriter, r *http.Request) bool {
	l := &s.limits
	l.mu.Lock()
	if l.reset.IsZero() {
		l.reset = time.Now().Add(time.Hour).Truncate(time.Second)
	}
	l.used = min(l.used+1, rateLimit)
	remaining, reset := rateLimit-l.used, l.reset
	kind, wait := Limit(0), l.wait
	if l.left > 0 {
		l.left--
		kind = l.kind
	}
	redirect := ""
	code := l.redirCode
	if kind == 0 && l.redirects > 0 {
		l.redirects--
		redirect = l.redirTo + r.URL.RequestURI()
	}
	l.mu.Unlock()

	h := w.Header()
	set := func(remaining int, reset time.Time) {
		h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(rateLimit-remaining))
		h.Set("X-RateLimit-Resource", "core")
	}
	secs := strconv.Itoa(int(wait / time.Second))
	switch kind {
	case PrimaryLimit:
		set(0, time.Now().Add(wait))
		writeError(w, http.StatusForbidden, primaryLimitMessage, primaryLimitDoc)
	case SecondaryLimit, SecondaryLimitNoWait:
		set(remaining, reset)
		if kind == SecondaryLimit {
			h.Set("Retry-After", secs)
		}
		writeError(w, http.StatusForbidden, secondaryLimitMessage, secondaryLimitDoc)
	case TooManyRequests:
		set(remaining, reset)
		h.Set("Retry-After", secs)
		writeError(w, http.StatusTooManyRequests, secondaryLimitMessage, secondaryLimitDoc)
	default:
		set(remaining, reset)
		if redirect == "" {
			return false
		}
		http.Redirect(w, r, redirect, code)
	}
	return true
}

// Mirror is another origin (127.0.0.1, another port) serving the same
// repository, as a host that a redirect may point to. It records the
// Authorization header of every request it gets.
type Mirror struct {
	URL string

	mu   sync.Mutex
	auth []string
}

// StartMirror starts a Mirror of s, closed when the test ends.
func (s *Server) StartMirror(tb testing.TB) *Mirror {
	m := &Mirror{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.auth = append(m.auth, r.Header.Get("Authorization"))
		m.mu.Unlock()
		s.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

// Authorizations returns the Authorization header of each request the
// mirror got ("" where there was none).
func (m *Mirror) Authorizations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.auth...)
}
