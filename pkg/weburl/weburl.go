// Package weburl holds the one check of the http(s) URLs a run is given: the
// Cachix API, the binary cache, the Pages site and the GitHub API.
package weburl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// Reasons a URL is refused; an *Error wraps one of them.
var (
	ErrSyntax      = errors.New("not a URL")
	ErrNotHTTP     = errors.New("not an absolute http(s) URL with a host")
	ErrCredentials = errors.New("holds credentials, which would be printed and published; pass tokens apart")
	ErrQuery       = errors.New("has a query or fragment, which a base URL cannot keep")
)

// Error is a refused URL, shown without any password.
type Error struct {
	URL string
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("%q: %v", e.URL, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Parse accepts an absolute http or https URL with a host and an optional path:
// no credentials (a URL is printed and published), no query or fragment (a
// path is joined to it), no white space or control characters.
func Parse(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return nil, &Error{URL: redact(s, u), Err: ErrSyntax}
	}
	fail := func(reason error) (*url.URL, error) { return nil, &Error{URL: u.Redacted(), Err: reason} }
	switch {
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return fail(ErrNotHTTP)
	case u.User != nil:
		return fail(ErrCredentials)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.ContainsAny(s, "?#"):
		return fail(ErrQuery)
	}
	return u, nil
}

// Redacted is s with any password hidden, for printing.
func Redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redact(s, nil)
	}
	return u.Redacted()
}

// redact shows an unparsable URL only when it holds no "@", which could be
// part of credentials.
func redact(s string, u *url.URL) string {
	if u != nil {
		return u.Redacted()
	}
	if strings.Contains(s, "@") {
		return "(a URL with credentials, not shown)"
	}
	return s
}
