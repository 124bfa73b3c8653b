// Package httpauth sends a credential (a bearer token, or a login and
// password) only to the origin (scheme, host and port) it was given for,
// whichever library builds the requests: the credential is added by the
// transport, per request, so a redirect to another origin never carries it,
// and such a redirect is refused outright with an error naming both origins.
// A credential is refused over plain http except to loopback.
package httpauth

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// maxRedirects is as many hops as net/http follows by default.
const maxRedirects = 10

// Origin is a URL's scheme, host and port, as browsers compare them.
type Origin struct {
	Scheme string // "http" or "https"
	Host   string // lower-case host name or IP, without brackets
	Port   string // explicit, the scheme's default filled in
}

// OriginOf returns u's origin.
func OriginOf(u *url.URL) Origin {
	o := Origin{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Hostname()), Port: u.Port()}
	if o.Port == "" {
		switch o.Scheme {
		case "https":
			o.Port = "443"
		case "http":
			o.Port = "80"
		}
	}
	return o
}

func (o Origin) String() string {
	return o.Scheme + "://" + net.JoinHostPort(o.Host, o.Port)
}

// Loopback tells whether o names this machine: localhost, 127.0.0.0/8, ::1.
func (o Origin) Loopback() bool {
	if o.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(o.Host)
	return ip != nil && ip.IsLoopback()
}

// InsecureError is a credential that would travel in clear: over http to a
// host other than loopback.
type InsecureError struct {
	Origin Origin
	// Basic: the credential is a login and password, not a token.
	Basic bool
}

func (e *InsecureError) Error() string {
	what := "a token"
	if e.Basic {
		what = "a login and password"
	}
	return fmt.Sprintf("%s would be sent in clear over http to %s: use https (plain http is allowed only to localhost, 127.0.0.0/8 and ::1)", what, e.Origin)
}

// RedirectError is a redirect to another origin than the one holding the
// credential. It is refused rather than followed without the token: an API
// call answered from elsewhere is not one to trust either.
type RedirectError struct{ From, To Origin }

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused a redirect from %s to another origin, %s: the credentials are only sent to %s", e.From, e.To, e.From)
}

// InvalidTokenError is a token that cannot be an HTTP header value (a
// newline or another control character, often from a file read whole).
type InvalidTokenError struct{}

func (*InvalidTokenError) Error() string {
	return "the token holds a newline or another control character; pass the token alone"
}

// Check validates a token for the API at rawURL before any request: the URL
// must pass weburl.Parse, the token be a valid header value, and
// plain http allowed only to loopback. An empty token is always fine.
func Check(rawURL, token string) error {
	_, err := origin(rawURL, token)
	return err
}

func origin(rawURL, token string) (Origin, error) {
	u, err := weburl.Parse(rawURL)
	if err != nil {
		return Origin{}, err
	}
	o := OriginOf(u)
	if token == "" {
		return o, nil
	}
	for _, r := range token {
		if r < 0x20 || r == 0x7f {
			return o, &InvalidTokenError{}
		}
	}
	if o.Scheme == "http" && !o.Loopback() {
		return o, &InsecureError{Origin: o}
	}
	return o, nil
}

// Client returns a copy of hc (nil: a client with no timeout) that sends
// "Authorization: Bearer TOKEN" with each request to rawURL's origin and
// with no other, and refuses redirects to another origin. An empty token
// returns the copy unchanged: there is nothing to leak.
func Client(hc *http.Client, rawURL, token string) (*http.Client, error) {
	o, err := origin(rawURL, token)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return bind(hc, o, ""), nil
	}
	return bind(hc, o, "Bearer "+token), nil
}

// Basic is a login and password for HTTP basic auth, as a netrc file gives
// them.
type Basic struct{ Login, Password string }

// BasicClient is Client sending "Authorization: Basic …" (RFC 7617) with
// cred to rawURL's origin only.
func BasicClient(hc *http.Client, rawURL string, cred Basic) (*http.Client, error) {
	o, err := origin(rawURL, "")
	if err != nil {
		return nil, err
	}
	if o.Scheme == "http" && !o.Loopback() {
		return nil, &InsecureError{Origin: o, Basic: true}
	}
	return bind(hc, o, "Basic "+base64.StdEncoding.EncodeToString([]byte(cred.Login+":"+cred.Password))), nil
}

// bind is a copy of hc that sends the header value to o only; "" sends
// nothing.
func bind(hc *http.Client, o Origin, value string) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	if value == "" {
		return c
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &transport{origin: o, value: value, base: base}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if to := OriginOf(req.URL); to != o {
			return &RedirectError{From: o, To: to}
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return c
}

// transport adds the credential to requests for its origin and removes any
// Authorization header from requests for another, whoever set it.
type transport struct {
	origin Origin
	value  string
	base   http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context()) // a RoundTripper must not change its request
	if OriginOf(req.URL) == t.origin {
		r.Header.Set("Authorization", t.value)
	} else {
		r.Header.Del("Authorization")
	}
	return t.base.RoundTrip(r)
}
