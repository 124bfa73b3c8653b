// Package retry holds the waiting rules shared by the API clients: exponential
// backoff with jitter, the server's Retry-After, and a sleep that ends with its
// context.
package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is the wait after failed attempt n (1 for the first): base doubled
// per attempt up to limit, then drawn from its upper half, so that clients that
// failed together spread out without waiting much less than planned.
func Backoff(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// ParseAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110, 10.2.3), relative to now.
func ParseAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Absurd values would overflow; callers cap the wait anyway.
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Sleep waits d, or until ctx ends, whichever is first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// ServerWait reads how long an answer asks the client to wait: its
// Retry-After, else the reset of a used-up rate limit (X-RateLimit-Remaining
// 0 and X-RateLimit-Reset in Unix seconds, as GitHub sends). reason names
// the header and its value, read as a number or date, never as raw text.
func ServerWait(h http.Header, now time.Time) (wait time.Duration, reason string, ok bool) {
	if v := h.Get("Retry-After"); v != "" {
		if d, ok := ParseAfter(v, now); ok {
			return d, fmt.Sprintf("Retry-After: %s", Round(d)), true
		}
	}
	if strings.TrimSpace(h.Get("X-RateLimit-Remaining")) != "0" {
		return 0, "", false
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil || secs < 0 {
		return 0, "", false
	}
	reset := time.Unix(secs, 0)
	return max(reset.Sub(now), 0), "rate limit used up until X-RateLimit-Reset " + reset.UTC().Format(time.RFC3339), true
}
