package retry

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Retryable is a failed attempt worth another one; make it with Again or
// AfterWait.
type Retryable struct {
	Err     error
	wait    time.Duration
	hasWait bool
	reason  string
}

func (r *Retryable) Error() string { return r.Err.Error() }
func (r *Retryable) Unwrap() error { return r.Err }

// Again marks err (a network error, a 5xx) as worth another attempt after
// the policy's backoff. Do still declines one when err cannot heal within a
// run (see PermanentError), so callers may mark any transport error.
func Again(err error) error { return &Retryable{Err: err} }

// AfterWait marks err as worth another attempt once the server's asked wait
// is over; reason says who asked, e.g. "Retry-After: 120". A wait over the
// policy's MaxServerWait fails the call at once with a *WaitError.
func AfterWait(err error, wait time.Duration, reason string) error {
	return &Retryable{Err: err, wait: max(wait, 0), hasWait: true, reason: reason}
}

// ExhaustedError is a call that failed on every attempt.
type ExhaustedError struct {
	What     string
	Attempts int // attempts made
	Err      error
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("gave up after %s: %v", attempts(e.Attempts), e.Err)
}
func (e *ExhaustedError) Unwrap() error { return e.Err }

// WaitError is a call that failed because the server asked for a wait
// longer than the policy allows.
type WaitError struct {
	What   string
	Reason string        // who asked, e.g. "Retry-After: 86400"
	Wait   time.Duration // how long
	Until  time.Time     // when the wait would end
	Limit  time.Duration // the policy's MaxServerWait
	Err    error         // the answer that asked
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("the server asked to wait %s (%s), until %s, longer than the %s allowed; try again later: %v",
		Round(e.Wait), e.Reason, e.Until.UTC().Format(time.RFC3339), e.Limit, e.Err)
}
func (e *WaitError) Unwrap() error { return e.Err }

// StoppedError is a call cut short by its context: the run's deadline, a
// cancellation, or a wait that would end past the deadline.
type StoppedError struct {
	What     string
	Attempts int
	Cause    error // why it stopped, e.g. a *DeadlineError
	Err      error // the last attempt's failure
}

func (e *StoppedError) Error() string {
	if errors.Is(e.Err, e.Cause) {
		// The request itself was cut short: its error already says why.
		return fmt.Sprintf("%v (%s)", e.Err, attempts(e.Attempts))
	}
	return fmt.Sprintf("%v, after %s; last error: %v", e.Cause, attempts(e.Attempts), e.Err)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}
func (e *StoppedError) Unwrap() []error { return []error{e.Cause, e.Err} }

// DeadlineError is the run's deadline, or a step's Budget, passing or about
// to pass during a wait. errors.Is(err, context.DeadlineExceeded) holds for
// it.
type DeadlineError struct {
	Limit time.Duration // the deadline's length; 0 if Bound or Budget did not set it
	For   string        // the step a Budget is for; "" for the run's deadline
	Wait  time.Duration // the wait that would have crossed it, if any
}

func (e *DeadlineError) Error() string {
	limit := "the deadline"
	switch {
	case e.Limit > 0 && e.For != "":
		limit = fmt.Sprintf("the %s allowed for %s", e.Limit, e.For)
	case e.Limit > 0:
		limit = fmt.Sprintf("the run's deadline of %s", e.Limit)
	}
	if e.Wait > 0 {
		return fmt.Sprintf("the next attempt, in %s, would start after %s", Round(e.Wait), limit)
	}
	return limit + " passed"
}
func (e *DeadlineError) Is(target error) bool { return target == context.DeadlineExceeded }

// AttemptTimeoutError is one attempt running out of time; it is retried.
type AttemptTimeoutError struct{ Limit time.Duration }

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("no complete answer within %s", e.Limit)
}
func (e *AttemptTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
