package retry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// PermanentError is a failure marked worth another attempt that cannot heal
// within a run, so Do did not try again: the next attempt, seconds later,
// would meet the same answer.
type PermanentError struct {
	What   string
	Reason string // why it cannot heal, e.g. "a name that does not resolve"
	Err    error
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("%v (not retried: %s cannot heal within a run)", e.Err, e.Reason)
}
func (e *PermanentError) Unwrap() error { return e.Err }

// cannotHeal says why err cannot heal within a run, or "" when it may. It
// decides from typed errors, never from their text. A refused connection is
// left to heal: a server restarting or being deployed refuses for a moment.
func cannotHeal(err error) string {
	var (
		dns     *net.DNSError
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		// The resolver's own answer (NXDOMAIN), not a timeout or an
		// unreachable resolver, which are retried.
		return "a name that does not resolve"
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return "a certificate that does not verify"
	}
	return ""
}

// TransientStatus reports whether an HTTP status may heal within a run: too
// many requests, and the server errors but those that say the server cannot
// do the request at all (501 Not Implemented, 505 HTTP Version Not
// Supported), which a wrong URL or a proxy that is not the API answer.
func TransientStatus(code int) bool {
	switch code {
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return code == http.StatusTooManyRequests || code >= 500 && code <= 599
}
