package branch

import (
	"errors"
	"fmt"
	"strings"
)

// Errors to test for with errors.Is. API failures come as *APIError, whose
// Is matches the sentinel of its kind.
var (
	ErrNoFiles         = errors.New("no files to publish")
	ErrInvalidPath     = errors.New("invalid file path")
	ErrForeignBranch   = errors.New("branch is not managed by create-pin-refs")
	ErrDefaultBranch   = errors.New("branch is the repository's default branch")
	ErrEmptyRepository = errors.New("repository is empty")
	ErrPermission      = errors.New("token may not write to the repository")
	ErrBadCredentials  = errors.New("token was refused")
	ErrTooManyAttempts = errors.New("gave up after too many attempts")
	ErrTreeMismatch    = errors.New("GitHub built a different tree than computed")
)

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
