package retry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// script returns an attempt function answering errs in order, then nil.
func script(errs ...error) (func(context.Context) error, *int) {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= len(errs) {
			return errs[calls-1]
		}
		return nil
	}, &calls
}

type sleeps []time.Duration

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	*s = append(*s, d)
	return nil
}

func TestDo(t *testing.T) {
	boom := errors.New("boom")
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		policy    Policy
		errs      []error
		attempts  int
		sleeps    int
		check     func(error) bool
		wantInErr string
	}{
		{name: "success", errs: nil, attempts: 1, check: isNil},
		{name: "recovers", errs: []error{Again(boom), Again(boom)}, attempts: 3, sleeps: 2, check: isNil},
		{name: "permanent", errs: []error{boom}, attempts: 1, check: func(err error) bool { return errors.Is(err, boom) }},
		{
			name: "exhausted", policy: Policy{Attempts: 3},
			errs: []error{Again(boom), Again(boom), Again(boom), Again(boom)}, attempts: 3, sleeps: 2,
			check: func(err error) bool {
				var e *ExhaustedError
				return errors.As(err, &e) && e.Attempts == 3 && errors.Is(err, boom)
			},
			wantInErr: "gave up after 3 attempts",
		},
		{
			name: "a short server wait is honoured", policy: Policy{MaxDelay: time.Second},
			errs: []error{AfterWait(boom, 30*time.Second, "Retry-After: 30s")}, attempts: 2, sleeps: 1, check: isNil,
		},
		{
			name:   "a long server wait fails at once",
			errs:   []error{AfterWait(boom, 24*time.Hour, "Retry-After: 24h0m0s")},
			policy: Policy{MaxServerWait: time.Minute}, attempts: 1, sleeps: 0,
			check: func(err error) bool {
				var e *WaitError
				return errors.As(err, &e) && e.Wait == 24*time.Hour && e.Until.Equal(now.Add(24*time.Hour)) && errors.Is(err, boom)
			},
			wantInErr: "asked to wait 24h0m0s (Retry-After: 24h0m0s), until 2026-11-30T12:00:00Z, longer than the 1m0s allowed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sleeps
			p := tt.policy
			p.Sleep, p.Now = s.sleep, func() time.Time { return now }
			f, calls := script(tt.errs...)
			n, err := p.Do(context.Background(), "test", f)
			if !tt.check(err) {
				t.Errorf("err = %v", err)
			}
			if n != tt.attempts || *calls != tt.attempts {
				t.Errorf("attempts = %d (calls %d), want %d", n, *calls, tt.attempts)
			}
			if len(s) != tt.sleeps {
				t.Errorf("sleeps = %v, want %d", s, tt.sleeps)
			}
			if tt.wantInErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantInErr)) {
				t.Errorf("err = %v, want it to hold %q", err, tt.wantInErr)
			}
			if tt.name == "a short server wait is honoured" && s[0] != 30*time.Second {
				t.Errorf("slept %v, want the server's 30s", s)
			}
		})
	}
}

func isNil(err error) bool { return err == nil }

func TestOnRetry(t *testing.T) {
	var events []Event
	p := Policy{Sleep: (&sleeps{}).sleep, OnRetry: func(e Event) { events = append(events, e) }}
	f, _ := script(Again(errors.New("boom")))
	if _, err := p.Do(context.Background(), "GET x", f); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Attempt != 1 || events[0].Attempts != DefaultAttempts {
		t.Fatalf("events = %+v", events)
	}
	if s := events[0].String(); !strings.HasPrefix(s, "GET x: attempt 1 of 5 failed, retrying in ") || !strings.HasSuffix(s, ": boom") {
		t.Errorf("event reads %q", s)
	}
}

// A server that never answers: each attempt times out and is retried until
// the run's deadline, which ends the call with a *DeadlineError.
func TestHangingServerHitsTheDeadline(t *testing.T) {
	p := Policy{Attempts: 100, AttemptTimeout: 20 * time.Millisecond, Deadline: 150 * time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	ctx, cancel := p.Bound(context.Background())
	defer cancel()
	n, err := p.Do(ctx, "hang", func(ctx context.Context) error {
		<-ctx.Done()
		return fmt.Errorf("GET x: %w", ctx.Err())
	})
	var de *DeadlineError
	if !errors.As(err, &de) || de.Limit != 150*time.Millisecond {
		t.Fatalf("err = %v, want the run's *DeadlineError", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || n < 2 || n >= 100 {
		t.Errorf("err = %v after %d attempts; want a deadline after a few timed-out attempts", err, n)
	}
	// The deadline can pass during an attempt ("… passed") or during the
	// short wait before the next one ("… would start after …"); both are
	// the run's deadline, so the test accepts either instead of racing.
	if !strings.Contains(err.Error(), "the run's deadline of 150ms") {
		t.Errorf("err = %q", err)
	}
}

// A wait that would end past the deadline fails at once instead.
func TestWaitPastTheDeadlineFailsAtOnce(t *testing.T) {
	var s sleeps
	p := Policy{Deadline: time.Minute, MaxServerWait: time.Hour, Sleep: s.sleep}
	ctx, cancel := p.Bound(context.Background())
	defer cancel()
	f, _ := script(AfterWait(errors.New("busy"), 2*time.Minute, "Retry-After: 2m0s"))
	_, err := p.Do(ctx, "x", f)
	var de *DeadlineError
	if !errors.As(err, &de) || de.Wait != 2*time.Minute || len(s) != 0 {
		t.Fatalf("err = %v, slept %v; want a *DeadlineError without sleeping", err, s)
	}
}

func TestCanceledStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n, err := Policy{}.Do(ctx, "x", func(context.Context) error {
		cancel()
		return Again(errors.New("boom"))
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("Do = %d, %v; want one attempt ending with context.Canceled", n, err)
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []Policy{{Attempts: -1}, {BaseDelay: -1}, {Deadline: -1}} {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", p)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Error(err)
	}
}

func TestServerWait(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	reset := fmt.Sprint(now.Add(90 * time.Second).Unix())
	tests := []struct {
		h      http.Header
		wait   time.Duration
		reason string
		ok     bool
	}{
		{h("Retry-After", "86400"), 24 * time.Hour, "Retry-After: 24h0m0s", true},
		{h("Retry-After", "3", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset), 3 * time.Second, "Retry-After: 3s", true},
		{h("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset), 90 * time.Second, "rate limit used up until X-RateLimit-Reset 2026-11-29T12:01:30Z", true},
		{h("X-RateLimit-Remaining", "12", "X-RateLimit-Reset", reset), 0, "", false},
		{h("Retry-After", "\n::warning::x"), 0, "", false},
		{h(), 0, "", false},
	}
	for _, tt := range tests {
		wait, reason, ok := ServerWait(tt.h, now)
		if wait != tt.wait || reason != tt.reason || ok != tt.ok {
			t.Errorf("ServerWait(%v) = %s, %q, %v; want %s, %q, %v", tt.h, wait, reason, ok, tt.wait, tt.reason, tt.ok)
		}
	}
}

func TestRound(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, "0s"},
		{"nanoseconds", 7 * time.Nanosecond, "7ns"},
		{"microseconds", 350123 * time.Nanosecond, "350µs"},
		{"under 10ms", 3456789 * time.Nanosecond, "3.46ms"},
		{"under 100ms", 12345678 * time.Nanosecond, "12.3ms"},
		{"under a second", 664519608 * time.Nanosecond, "665ms"},
		{"rounds up to a second", 999600 * time.Microsecond, "1s"},
		{"seconds", 1234567890 * time.Nanosecond, "1.23s"},
		{"tens of seconds", 45678 * time.Millisecond, "45.7s"},
		{"a minute and more", 90*time.Second + 400*time.Millisecond, "1m30s"},
		{"hours", 2*time.Hour + 3*time.Minute + 4567*time.Millisecond, "2h3m5s"},
		{"negative", -3456789 * time.Nanosecond, "-3.46ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Round(tt.in)
			if got.String() != tt.want {
				t.Errorf("Round(%s) = %s, want %s", tt.in, got, tt.want)
			}
			// Log lines are read back (bench reads "… took DURATION").
			if back, err := time.ParseDuration(got.String()); err != nil || back != got {
				t.Errorf("time.ParseDuration(%q) = %s, %v; want %s", got, back, err, got)
			}
		})
	}
}

// TestBudget: a step's budget inside the run ends its calls, waits included,
// and says it was the step's budget, not the run's deadline; a budget longer
// than what is left of the run leaves the run's deadline in force.
func TestBudget(t *testing.T) {
	waits := func(d time.Duration) Policy {
		return Policy{Deadline: time.Hour, BaseDelay: d, MaxDelay: d, Sleep: (&sleeps{}).sleep}
	}
	busy := func(context.Context) error { return Again(errors.New("503")) }
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name    string
		policy  Policy
		budget  time.Duration
		f       func(context.Context) error
		want    string
		budgets bool // whether the budget, not the run, ended the call
	}{
		{"a wait past the budget", waits(4 * time.Minute), time.Minute, busy,
			"would start after the 1m0s allowed for reading pins.json", true},
		{"an attempt past the budget", waits(time.Millisecond), 20 * time.Millisecond, hang,
			"the 20ms allowed for reading pins.json passed, after 1 attempt", true},
		{"a budget past the run's deadline", waits(4 * time.Hour), 2 * time.Hour, busy,
			"would start after the run's deadline of 1h0m0s", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, cancel := tt.policy.Bound(context.Background())
			defer cancel()
			ctx, cancel := Budget(run, tt.budget, "reading pins.json")
			defer cancel()
			_, err := tt.policy.Do(ctx, "GET x", tt.f)
			var de *DeadlineError
			if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a *DeadlineError reading %q", err, tt.want)
			}
			if (de.For == "reading pins.json") != tt.budgets {
				t.Errorf("the deadline is for %q; want the budget's: %v", de.For, tt.budgets)
			}
		})
	}
}
