package retry

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Policy is how every API client of the project retries: one budget of
// attempts with exponential backoff, a cap on the waits a server may ask for,
// a bound on each attempt and a deadline for the whole run. The zero value of
// a field means its default (see Default) except where noted.
type Policy struct {
	// Attempts bounds the attempts of one call that keeps failing
	// (network errors, 5xx, 429); at least 1. Failures that cannot heal
	// within a run get one (see Do).
	Attempts int
	// BaseDelay and MaxDelay bound the exponential backoff between attempts.
	BaseDelay, MaxDelay time.Duration
	// MaxServerWait caps a wait that a server asks for (Retry-After, a rate
	// limit's reset). A longer one fails the call at once with a *WaitError
	// naming the wait, rather than stalling a workflow.
	MaxServerWait time.Duration
	// AttemptTimeout bounds one attempt, answer body included.
	AttemptTimeout time.Duration
	// Deadline bounds a whole run: every call made under the context that
	// Bound returns. Waits that would end past it fail at once.
	Deadline time.Duration

	// Sleep waits between attempts; nil waits on a timer, ending with ctx.
	// Tests pass a function that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads the clock; nil is time.Now.
	Now func() time.Time
	// OnRetry, if set, is told before each wait (e.g. to log it).
	OnRetry func(Event)
}

// Defaults, chosen so that a short outage is ridden out while a server that
// hangs or asks for long waits fails a CI job in minutes, not hours.
const (
	DefaultAttempts       = 5
	DefaultBaseDelay      = 500 * time.Millisecond
	DefaultMaxDelay       = 8 * time.Second
	DefaultMaxServerWait  = time.Minute
	DefaultAttemptTimeout = 30 * time.Second
	DefaultDeadline       = 10 * time.Minute
)

// Default returns the project's retry policy.
func Default() Policy {
	return Policy{}.WithDefaults()
}

// WithDefaults fills in the zero fields with the defaults.
func (p Policy) WithDefaults() Policy {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if p.Attempts == 0 {
		p.Attempts = DefaultAttempts
	}
	set(&p.BaseDelay, DefaultBaseDelay)
	set(&p.MaxDelay, DefaultMaxDelay)
	set(&p.MaxServerWait, DefaultMaxServerWait)
	set(&p.AttemptTimeout, DefaultAttemptTimeout)
	set(&p.Deadline, DefaultDeadline)
	if p.Sleep == nil {
		p.Sleep = Sleep
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	p = p.WithDefaults()
	switch {
	case p.Attempts < 1:
		return fmt.Errorf("retry attempts must be at least 1, got %d", p.Attempts)
	case p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxServerWait < 0:
		return errors.New("retry delays must not be negative")
	case p.AttemptTimeout < 0 || p.Deadline < 0:
		return errors.New("retry timeouts must not be negative")
	}
	return nil
}

// Bound returns ctx limited by the run's deadline; when it passes, the
// context's cause is a *DeadlineError. Call it once per run and pass the
// context to every client.
func (p Policy) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	p = p.WithDefaults()
	return bound(ctx, &DeadlineError{Limit: p.Deadline})
}

// Budget returns ctx limited to d for the calls of an optional step, named
// by what (e.g. "reading pins.json"), retries included, so that a server
// that cannot answer costs at most d; when it passes, the context's cause is
// a *DeadlineError naming what. A sooner deadline of ctx stays in force.
func Budget(ctx context.Context, d time.Duration, what string) (context.Context, context.CancelFunc) {
	return bound(ctx, &DeadlineError{Limit: d, For: what})
}

// bound limits ctx to de.Limit, remembering de for the waits that would
// cross it (deadlineOf).
func bound(ctx context.Context, de *DeadlineError) (context.Context, context.CancelFunc) {
	bctx, cancel := context.WithTimeoutCause(ctx, de.Limit, de)
	at, _ := bctx.Deadline()
	if parent, ok := ctx.Deadline(); ok && parent.Equal(at) {
		// ctx ends sooner: its deadline, and its account of it, hold.
		return bctx, cancel
	}
	return context.WithValue(bctx, deadlineKey{}, bounded{de: de, at: at}), cancel
}

type deadlineKey struct{}

// bounded is a deadline set by bound: why, and when it passes.
type bounded struct {
	de *DeadlineError
	at time.Time
}

// deadlineOf says why a wait of d is not made: it would end past ctx's
// deadline (a *DeadlineError naming it when bound set it).
func deadlineOf(ctx context.Context, d time.Duration) error {
	dl, _ := ctx.Deadline()
	if b, ok := ctx.Value(deadlineKey{}).(bounded); ok && b.at.Equal(dl) {
		return &DeadlineError{Limit: b.de.Limit, For: b.de.For, Wait: d}
	}
	return &DeadlineError{Wait: d}
}

// Event is a failed attempt about to be retried.
type Event struct {
	What     string        // what is being done, e.g. "GET https://…/pin"
	Attempt  int           // the attempt that failed, from 1
	Attempts int           // the budget
	Wait     time.Duration // the wait before the next attempt
	Err      error         // why it failed
}

// String reads "attempt 2 of 5 failed, retrying in 1.3s: ERR".
func (e Event) String() string {
	return fmt.Sprintf("%s: attempt %d of %d failed, retrying in %s: %v", e.What, e.Attempt, e.Attempts, Round(e.Wait), e.Err)
}

// Round shortens a duration for a log line to three significant figures, so
// that a fast phase reads 350µs or 12.3ms rather than 0s: 664.519608ms reads
// 665ms, 1.234567s 1.23s, and from a minute on whole seconds (1m30s). The
// result prints in a form time.ParseDuration reads back.
func Round(d time.Duration) time.Duration {
	if d.Abs() >= time.Minute {
		return d.Round(time.Second)
	}
	unit := time.Duration(1)
	for d.Abs() >= 1000*unit { // at most 11 steps below a minute
		unit *= 10
	}
	return d.Round(unit)
}

// Do calls f until it succeeds or fails for good. f marks a failure worth
// another attempt with Again or AfterWait; any other error ends the
// call at once, and so does a marked one that cannot heal within a run (a
// name that does not resolve, a certificate that does not verify), as a
// *PermanentError: callers mark every transport error, and Do alone decides.
// An attempt that times out (AttemptTimeout) is retried too.
// Do returns the number of attempts made.
func (p Policy) Do(ctx context.Context, what string, f func(ctx context.Context) error) (int, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return 0, err
	}
	for n := 1; ; n++ {
		err := p.attempt(ctx, f)
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return n, stopped(ctx, what, n, err)
		}
		var r *Retryable
		if !errors.As(err, &r) {
			return n, err
		}
		if reason := cannotHeal(r.Err); reason != "" {
			return n, &PermanentError{What: what, Reason: reason, Err: r.Err}
		}
		if n >= p.Attempts {
			return n, &ExhaustedError{What: what, Attempts: n, Err: r.Err}
		}
		wait := Backoff(n, p.BaseDelay, p.MaxDelay)
		if r.hasWait {
			if r.wait > p.MaxServerWait {
				return n, &WaitError{What: what, Reason: r.reason, Wait: r.wait, Until: p.Now().Add(r.wait), Limit: p.MaxServerWait, Err: r.Err}
			}
			wait = max(wait, r.wait)
		}
		if dl, ok := ctx.Deadline(); ok && p.Now().Add(wait).After(dl) {
			return n, &StoppedError{What: what, Attempts: n, Cause: deadlineOf(ctx, wait), Err: r.Err}
		}
		if p.OnRetry != nil {
			p.OnRetry(Event{What: what, Attempt: n, Attempts: p.Attempts, Wait: wait, Err: r.Err})
		}
		if err := p.Sleep(ctx, wait); err != nil {
			return n, stopped(ctx, what, n, r.Err)
		}
	}
}

// attempt runs f bounded by AttemptTimeout; an attempt that ran out of time
// while ctx lives on is worth another one.
func (p Policy) attempt(ctx context.Context, f func(context.Context) error) error {
	actx, cancel := context.WithTimeoutCause(ctx, p.AttemptTimeout, &AttemptTimeoutError{Limit: p.AttemptTimeout})
	defer cancel()
	err := f(actx)
	if err != nil && actx.Err() != nil && ctx.Err() == nil {
		var r *Retryable
		if !errors.As(err, &r) {
			err = Again(fmt.Errorf("%w: %w", context.Cause(actx), err))
		}
	}
	return err
}

func stopped(ctx context.Context, what string, n int, last error) error {
	var r *Retryable
	if errors.As(last, &r) {
		last = r.Err
	}
	return &StoppedError{What: what, Attempts: n, Cause: context.Cause(ctx), Err: last}
}
