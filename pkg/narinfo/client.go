package narinfo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
)

// Errors a Get may wrap, for errors.Is.
var (
	// ErrNotFound: the cache does not hold the path (404).
	ErrNotFound = errors.New("not in the binary cache")
	// ErrUnauthorized: the cache answered 401 or 403.
	ErrUnauthorized = errors.New("refused by the binary cache")
)

// MaxBody bounds a narinfo: the largest real ones (thousands of references)
// are a few hundred KiB.
const MaxBody = 4 << 20

// Auth is what a client's requests carry, which changes what a 401 means.
type Auth int

const (
	// AuthNone: no credential was given.
	AuthNone Auth = iota
	// AuthWithheld: a token was given, but not for this URL, which is not
	// the cache's own.
	AuthWithheld
	// AuthToken: the token, as a bearer token.
	AuthToken
	// AuthBasic: a login and password, such as a netrc entry.
	AuthBasic
)

// StatusError is an answer other than 200 or 404 that retries did not cure.
type StatusError struct {
	URL        string
	StatusCode int
	Auth       Auth // what the request carried
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.StatusCode != http.StatusUnauthorized && e.StatusCode != http.StatusForbidden {
		return msg
	}
	switch e.Auth {
	case AuthToken:
		msg += " (the token was refused or lacks read access to this cache)"
	case AuthBasic:
		msg += " (the login and password were refused or lack read access to this cache)"
	case AuthWithheld:
		msg += " (the cache is private; a token was given, but it is not sent to this URL, which is not the cache's own)"
	default:
		msg += " (the cache is private, and no credentials were sent)"
	}
	return msg
}

func (e *StatusError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// Client reads narinfo files from one binary cache. It is safe for concurrent
// use and keeps its connections alive between requests.
type Client struct {
	base      string // the cache URL, without a trailing slash
	hc        *http.Client
	auth      Auth // what requests carry
	userAgent string
	policy    retry.Policy
	buffers   sync.Pool
}

// Options configure a Client.
type Options struct {
	// Token, when set, is sent as "Authorization: Bearer TOKEN" to the cache's
	// origin only (see httpauth): a redirect to another origin is refused.
	Token string
	// Basic, when set, is sent instead of the token as HTTP basic auth, to
	// the cache's origin only.
	Basic *httpauth.Basic
	// TokenWithheld tells that a token was given but is not for this cache,
	// for the error a 401 gives.
	TokenWithheld bool
	// Transport is shared by the clients of a run; nil makes one.
	Transport http.RoundTripper
	UserAgent string
	// Policy retries 429, 5xx and network errors; zero is retry.Default().
	Policy retry.Policy
}

// New returns a client for the binary cache at cacheURL (http or https).
func New(cacheURL string, opts Options) (*Client, error) {
	u, err := url.Parse(cacheURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("binary cache URL %q: want http(s)://HOST[/PATH] without credentials, query or fragment", redact(cacheURL))
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport(2)
	}
	token := strings.TrimSpace(opts.Token)
	auth := AuthNone
	var hc *http.Client
	switch {
	case opts.Basic != nil:
		auth = AuthBasic
		hc, err = httpauth.BasicClient(&http.Client{Transport: opts.Transport}, u.String(), *opts.Basic)
	default:
		if token != "" {
			auth = AuthToken
		} else if opts.TokenWithheld {
			auth = AuthWithheld
		}
		hc, err = httpauth.Client(&http.Client{Transport: opts.Transport}, u.String(), token)
	}
	if err != nil {
		return nil, fmt.Errorf("binary cache %s: %w", u.Redacted(), err)
	}
	c := &Client{
		base:      strings.TrimSuffix(u.String(), "/"),
		hc:        hc,
		auth:      auth,
		userAgent: opts.UserAgent,
		policy:    opts.Policy,
	}
	c.buffers.New = func() any { return new(bytes.Buffer) }
	return c, nil
}

// URL is the cache's URL.
func (c *Client) URL() string { return c.base }

// Warm opens a connection to the cache, by asking for its nix-cache-info as
// Nix does first, while the caller still waits for what the first narinfo
// requests need: the handshakes (TCP, TLS, HTTP/2) are then behind it. The
// answer and any failure are dropped; the requests that matter report
// theirs.
func (c *Client) Warm(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.base+"/nix-cache-info", nil)
	if err != nil {
		return
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if resp, err := c.hc.Do(req); err == nil {
		resp.Body.Close()
	}
}

// Get fetches and parses the narinfo of the store path with this hash. A path
// the cache does not hold gives an error wrapping ErrNotFound.
func (c *Client) Get(ctx context.Context, hash string) (*NarInfo, error) {
	if len(hash) != 32 || strings.IndexFunc(hash, func(r rune) bool { return r > 0x7f || !isBase32(byte(r)) }) >= 0 {
		return nil, fmt.Errorf("%q is not a store path hash", hash)
	}
	u := c.base + "/" + hash + ".narinfo"
	var n *NarInfo
	_, err := c.policy.Do(ctx, "GET "+u, func(ctx context.Context) (err error) {
		n, err = c.attempt(ctx, u, hash)
		return err
	})
	return n, err
}

// attempt makes one request, marking errors worth retrying for retry.Do.
func (c *Client) attempt(ctx context.Context, u, hash string) (*NarInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var re *httpauth.RedirectError
		if ctx.Err() != nil || errors.As(err, &re) {
			return nil, err
		}
		return nil, retry.Again(err) // *url.Error names the URL
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		se := &StatusError{URL: u, StatusCode: resp.StatusCode, Auth: c.auth}
		if retry.TransientStatus(resp.StatusCode) {
			if d, reason, ok := retry.ServerWait(resp.Header, time.Now()); ok {
				return nil, retry.AfterWait(se, d, reason)
			}
			return nil, retry.Again(se)
		}
		return nil, se
	}
	buf := c.buffers.Get().(*bytes.Buffer)
	defer c.buffers.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, MaxBody+1)); err != nil {
		err = fmt.Errorf("GET %s: reading the answer: %w", u, err)
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, retry.Again(err)
	}
	if buf.Len() > MaxBody {
		return nil, fmt.Errorf("GET %s: %w: larger than %d bytes", u, ErrCorrupt, MaxBody)
	}
	return ParseFor(hash, buf.Bytes(), "GET "+u)
}

// ParseFor parses the narinfo of the store path with this hash, read from
// where (a request or an object, for errors), and checks that it describes
// that path.
func ParseFor(hash string, body []byte, where string) (*NarInfo, error) {
	n, err := Parse(string(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if Hash(n.StorePath) != hash {
		return nil, fmt.Errorf("%s: %w: it describes %s", where, ErrCorrupt, n.StorePath)
	}
	return n, nil
}

// CheckInfo reads the cache's nix-cache-info, as Nix does first: whether
// the URL serves a binary cache at all. A 404 wraps ErrNotFound, a 401 or
// 403 ErrUnauthorized (a *StatusError); an answer that is no nix-cache-info
// wraps ErrCorrupt.
func (c *Client) CheckInfo(ctx context.Context) error {
	u := c.base + "/nix-cache-info"
	_, err := c.policy.Do(ctx, "GET "+u, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		if c.userAgent != "" {
			req.Header.Set("User-Agent", c.userAgent)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			return retry.Again(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		switch {
		case resp.StatusCode != http.StatusOK:
			se := &StatusError{URL: u, StatusCode: resp.StatusCode, Auth: c.auth}
			if retry.TransientStatus(resp.StatusCode) {
				return retry.Again(se)
			}
			return se
		case err != nil:
			return retry.Again(fmt.Errorf("GET %s: reading the answer: %w", u, err))
		case !bytes.Contains(body, []byte("StoreDir:")):
			return fmt.Errorf("GET %s: %w: no StoreDir line, so this is not a binary cache", u, ErrCorrupt)
		}
		return nil
	})
	return err
}

func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(invalid URL)"
}
