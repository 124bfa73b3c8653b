package cachix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// Defaults.
const (
	DefaultBaseURL   = "https://app.cachix.org"
	DefaultUserAgent = "create-pin-refs/dev"
	// DefaultMaxBodySize is far above any real pin list yet keeps a runaway
	// answer from exhausting memory.
	DefaultMaxBodySize int64 = 64 << 20
)

// errorBodyLimit bounds how much of an error answer is read.
const errorBodyLimit = 64 << 10

// Client talks to the Cachix API. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	httpClient  *http.Client
	token       string
	userAgent   string
	policy      retry.Policy
	maxBodySize int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default client. Each attempt is bounded by the
// retry policy's AttemptTimeout whatever the client's own timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithToken sends "Authorization: Bearer TOKEN" to the base URL's origin
// only (see httpauth); an empty token sends none. Surrounding whitespace is
// dropped, as tokens often come from files.
func WithToken(token string) Option {
	return func(c *Client) { c.token = strings.TrimSpace(token) }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithRetry sets the retry policy (default retry.Default()).
func WithRetry(p retry.Policy) Option {
	return func(c *Client) { c.policy = p }
}

// WithMaxBodySize limits how many bytes of a successful answer are read.
func WithMaxBodySize(n int64) Option {
	return func(c *Client) { c.maxBodySize = n }
}

// New returns a client for the Cachix API at baseURL (e.g.
// DefaultBaseURL); baseURL may carry a path prefix. A token over plain http
// to a host other than loopback is refused with an *httpauth.InsecureError.
func New(baseURL string, opts ...Option) (*Client, error) {
	base, err := weburl.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("cachix base URL: %w", err)
	}
	c := &Client{
		base:        base,
		httpClient:  &http.Client{},
		userAgent:   DefaultUserAgent,
		maxBodySize: DefaultMaxBodySize,
	}
	for _, opt := range opts {
		opt(c)
	}
	if err := c.policy.Validate(); err != nil {
		return nil, fmt.Errorf("cachix client: %w", err)
	}
	c.policy = c.policy.WithDefaults()
	if c.maxBodySize < 1 {
		return nil, fmt.Errorf("cachix client: max body size must be positive, got %d", c.maxBodySize)
	}
	if c.httpClient, err = httpauth.Client(c.httpClient, base.String(), c.token); err != nil {
		return nil, fmt.Errorf("cachix base URL %q: %w", base.Redacted(), err)
	}
	return c, nil
}

// Pins returns every pin of cache (Cachix sends the whole list, unpaged).
func (c *Client) Pins(ctx context.Context, cache string) ([]Pin, error) {
	u, err := c.endpoint(cache, "/pin")
	if err != nil {
		return nil, err
	}
	var pins []Pin
	err = c.do(ctx, http.MethodGet, cache, u, nil, func(body io.Reader, size int64) (err error) {
		pins, err = readPinList(body, c.maxBodySize, size)
		if te := (*PinTypeError)(nil); errors.As(err, &te) {
			// Not the user's doing: Cachix sends these fields with these types.
			return fmt.Errorf("%w; Cachix answered with a pin list this tool cannot read (has its API changed?): please report it, with that pin's JSON", err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return pins, nil
}

// Cache returns the cache's description: its binary cache URI and keys.
func (c *Client) Cache(ctx context.Context, cache string) (*CacheInfo, error) {
	u, err := c.endpoint(cache, "")
	if err != nil {
		return nil, err
	}
	body, err := c.get(ctx, cache, u)
	if err != nil {
		return nil, err
	}
	info, err := decodeCacheInfo(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	return info, nil
}

// endpoint joins base, "/api/v1/cache/", the escaped cache name and suffix,
// keeping any base path prefix.
func (c *Client) endpoint(cache, suffix string) (*url.URL, error) {
	if cache == "" || cache == "." || cache == ".." {
		return nil, fmt.Errorf("invalid cache name %q", cache)
	}
	u := *c.base
	prefix := strings.TrimSuffix(c.base.EscapedPath(), "/")
	rawPath := prefix + "/api/v1/cache/" + url.PathEscape(cache) + suffix
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("building URL for cache %q: %w", cache, err)
	}
	u.Path, u.RawPath = path, rawPath
	return &u, nil
}

// get fetches u with retries and returns the body of a 2xx answer.
func (c *Client) get(ctx context.Context, cache string, u *url.URL) ([]byte, error) {
	return c.send(ctx, http.MethodGet, cache, u, nil)
}

// send makes a request with retries and returns the body of a 2xx answer;
// a non-nil body is sent as JSON.
func (c *Client) send(ctx context.Context, method, cache string, u *url.URL, reqBody []byte) ([]byte, error) {
	var body []byte
	err := c.do(ctx, method, cache, u, reqBody, func(r io.Reader, _ int64) (err error) {
		body, err = io.ReadAll(io.LimitReader(r, c.maxBodySize+1))
		if err != nil {
			return &readError{err}
		}
		if int64(len(body)) > c.maxBodySize {
			return ErrTooLarge
		}
		return nil
	})
	return body, err
}

// do makes a request with retries and hands the body of a 2xx answer, with
// its Content-Length (or -1), to read. read returns a *readError when reading
// failed, which is retried, and ErrTooLarge past the body limit.
func (c *Client) do(ctx context.Context, method, cache string, u *url.URL, reqBody []byte, read func(io.Reader, int64) error) error {
	_, err := c.policy.Do(ctx, method+" "+u.Redacted(), func(ctx context.Context) error {
		return c.attempt(ctx, method, cache, u, reqBody, read)
	})
	return err
}

// attempt makes one request, marking errors worth retrying for retry.Do.
func (c *Client) attempt(ctx context.Context, method, cache string, u *url.URL, reqBody []byte, read func(io.Reader, int64) error) error {
	var rd io.Reader
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	req.Header.Set("Accept", "application/json")
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// *url.Error already names the method and URL (without password).
		if ctx.Err() != nil || isPolicy(err) {
			return err
		}
		return retry.Again(err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := c.checkResponse(resp, cache)
		if retry.TransientStatus(resp.StatusCode) {
			if d, reason, ok := retry.ServerWait(resp.Header, c.policy.Now()); ok {
				return retry.AfterWait(apiErr, d, reason)
			}
			return retry.Again(apiErr)
		}
		return apiErr
	}

	err = read(resp.Body, resp.ContentLength)
	var re *readError
	switch {
	case errors.As(err, &re):
		err = fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
		if ctx.Err() != nil {
			return err
		}
		// A connection cut mid-body is as transient as one refused.
		return retry.Again(err)
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%s %s: response body is over the %d-byte limit: %w", method, u.Redacted(), c.maxBodySize, ErrTooLarge)
	case err != nil:
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	return nil
}

// checkResponse turns a non-2xx answer into an *APIError.
func (c *Client) checkResponse(resp *http.Response, cache string) *APIError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	msg := bodyMessage(data)
	if c.token != "" {
		// A server echoing the request must not leak the token into logs.
		msg = strings.ReplaceAll(msg, c.token, "[REDACTED]")
	}
	return &APIError{
		Method:     resp.Request.Method,
		URL:        resp.Request.URL.Redacted(),
		StatusCode: resp.StatusCode,
		Message:    msg,
		Cache:      cache,
		TokenSent:  c.token != "",
	}
}

// isPolicy tells a refused redirect or insecure request apart from a
// network failure: trying again would only be refused again.
func isPolicy(err error) bool {
	var re *httpauth.RedirectError
	var ie *httpauth.InsecureError
	return errors.As(err, &re) || errors.As(err, &ie)
}
