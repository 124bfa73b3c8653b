package cachix

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors, for errors.Is. An *APIError unwraps to the one matching
// its status, so callers can pick an exit code or hint without parsing text.
var (
	// ErrUnauthorized: Cachix answered 401 or 403.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound: Cachix answered 404 (no such cache, or hidden from this user).
	ErrNotFound = errors.New("not found")
	// ErrTooLarge: a response body or file is over the configured size limit.
	ErrTooLarge = errors.New("too large")
)

// messageLimit bounds the server text quoted in an error: enough for a JSON
// error message, short enough that an HTML error page does not flood a log.
const messageLimit = 200

// APIError is a non-2xx answer from the Cachix API.
type APIError struct {
	Method     string
	URL        string // without credentials
	StatusCode int
	// Message is the body's JSON "error" or "message" field, else a trimmed
	// snippet of the body; may be empty.
	Message string
	// Cache is the cache name the request was about.
	Cache string
	// TokenSent tells whether the request carried an auth token, which
	// changes what a 401 means for the user.
	TokenSent bool
}

// Error starts with what the user can do, then the request and the answer.
func (e *APIError) Error() string {
	var b strings.Builder
	if h := e.hint(); h != "" {
		b.WriteString(h)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap maps the status to a sentinel so errors.Is works on wrapped errors.
func (e *APIError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// hint says what went wrong in the user's terms; pkg/cli adds which option
// to change.
func (e *APIError) hint() string {
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		if !e.TokenSent && e.Method != http.MethodGet {
			return fmt.Sprintf("writing to cache %q needs an auth token with write access", e.Cache)
		}
		if !e.TokenSent {
			return fmt.Sprintf("cache %q needs an auth token (is it private?)", e.Cache)
		}
		access := "read"
		if e.Method != http.MethodGet {
			access = "write"
		}
		return fmt.Sprintf("the auth token was refused or lacks %s access to cache %q", access, e.Cache)
	case http.StatusNotFound:
		return fmt.Sprintf("cache %q not found", e.Cache)
	}
	return ""
}

// bodyMessage extracts a human message from an error body: Cachix sends
// {"error": "..."}; other servers and proxies send text or HTML.
func bodyMessage(body []byte) string {
	if msg := errorField(body); msg != "" {
		return msg
	}
	return snippet(body)
}

// snippet collapses whitespace and cuts to messageLimit bytes on a rune
// boundary.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if len(s) <= messageLimit {
		return s
	}
	cut := messageLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
