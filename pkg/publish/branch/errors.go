package branch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
)

// Errors to test for with errors.Is. API failures come as *APIError, whose
// Is matches the sentinel of its kind. None names a command-line option:
// the caller adds how to change what was asked.
var (
	ErrNoFiles         = errors.New("no files to publish")
	ErrInvalidPath     = errors.New("invalid file path")
	ErrForeignBranch   = errors.New("branch is not managed by create-pin-refs")
	ErrDefaultBranch   = errors.New("branch is the repository's default branch")
	ErrEmptyRepository = errors.New("repository is empty")
	ErrPermission      = errors.New("token may not write to the repository")
	ErrBadCredentials  = errors.New("token was refused")
	ErrTreeMismatch    = errors.New("GitHub built a different tree than computed")
)

// ForeignBranchError is an existing branch that this tool did not make.
type ForeignBranchError struct {
	Branch string
	Head   string // its head commit, shortened
	Reason string // e.g. "it has no .create-pin-refs file"
}

func (e *ForeignBranchError) Error() string {
	return fmt.Sprintf("%v: branch %q exists and %s (head %s)", ErrForeignBranch, e.Branch, e.Reason, e.Head)
}

func (e *ForeignBranchError) Is(target error) bool { return target == ErrForeignBranch }

// APIError is a failed GitHub request: what was being done, GitHub's status
// and message, and what the user can do about it.
type APIError struct {
	Op         string // e.g. "update refs/heads/pins"
	StatusCode int    // 0 when no answer came (network error)
	Message    string // GitHub's message, as sent
	Fix        string // advice for the user, may be empty
	Err        error  // the go-github error (or transport error)
	kind       error  // sentinel matched by Is
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.StatusCode != 0 && e.Message != "":
		fmt.Fprintf(&b, "%d %s", e.StatusCode, e.Message)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	default:
		b.WriteString(e.Err.Error())
	}
	if e.Fix != "" {
		b.WriteString(": ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

// Is lets errors.Is(err, ErrPermission) and the like see through an APIError.
func (e *APIError) Is(target error) bool { return e.kind != nil && target == e.kind }

// secondaryWait is what GitHub asks after a secondary rate limit that names
// no wait: "wait at least one minute before retrying".
const secondaryWait = time.Minute

// fail turns a go-github error into an *APIError with advice, marked for
// retry.Policy when trying again may help (5xx, 429, rate limits, network).
// It decides from the status, the headers and go-github's error types,
// never from GitHub's message.
func (p *publisher) fail(op string, write bool, resp *github.Response, err error) error {
	var redirect *httpauth.RedirectError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &redirect) {
		return fmt.Errorf("%s: %w", op, err)
	}
	repo := p.opts.Owner + "/" + p.opts.Repo
	e := &APIError{Op: op, StatusCode: status(resp), Message: message(err), Err: err}
	now := p.opts.Retry.Now()

	var rle *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	switch code := e.StatusCode; {
	case errors.As(err, &rle):
		// Also what go-github answers, without asking, while a limit it
		// saw used up has not reset.
		reset := rle.Rate.Reset.Time
		return retry.AfterWait(e, reset.Sub(now), "rate limit used up until "+reset.UTC().Format(time.RFC3339))
	case code == http.StatusForbidden || retry.TransientStatus(code):
		if wait, reason, ok := retry.ServerWait(resp.Header, now); ok {
			return retry.AfterWait(e, wait, reason)
		}
		if errors.As(err, &abuse) {
			// go-github v60 reads X-RateLimit-Reset as the wait when there
			// is no Retry-After, and refuses to send before it ends.
			wait := secondaryWait
			if abuse.RetryAfter != nil {
				wait = *abuse.RetryAfter
			}
			return retry.AfterWait(e, wait, "secondary rate limit")
		}
		if code != http.StatusForbidden {
			return retry.Again(e)
		}
	case code == 0:
		// No answer at all: a network failure, worth another try.
		return retry.Again(e)
	}
	switch code := e.StatusCode; {
	case code == http.StatusUnauthorized:
		e.kind = ErrBadCredentials
		e.Fix = "the token is missing, expired or wrong (in Actions, pass ${{ github.token }})"
	case code == http.StatusConflict:
		// The Git Data API's one documented 409: a repository without commits.
		e.kind = ErrEmptyRepository
		e.Fix = fmt.Sprintf("the repository %s is empty; branch mode needs an initialised repository: push at least one commit (e.g. a README) to it first", repo)
	case (code == http.StatusForbidden || code == http.StatusNotFound) && write:
		e.kind = ErrPermission
		e.Fix = fmt.Sprintf("the token may not write to %s (or the repository does not exist): add `permissions: contents: write` to the job, or use a token with contents: write access", repo)
	case code == http.StatusForbidden:
		e.kind = ErrPermission
		e.Fix = fmt.Sprintf("the token may not read %s: use a token with access to it (the job needs `permissions: contents: write`)", repo)
	}
	return e
}

func status(resp *github.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}

// message is GitHub's message for err, with any field errors appended, for
// the user to read; no decision depends on it.
func message(err error) string {
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		var rle *github.RateLimitError
		if errors.As(err, &rle) {
			return rle.Message
		}
		var abuse *github.AbuseRateLimitError
		if errors.As(err, &abuse) {
			return abuse.Message
		}
		return ""
	}
	msg := er.Message
	for _, fe := range er.Errors {
		if fe.Message != "" {
			msg += "; " + fe.Message
		} else if fe.Field != "" {
			msg += fmt.Sprintf("; %s %s", fe.Field, fe.Code)
		}
	}
	return msg
}
