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
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
)

// Defaults. The retry budget (1+2+4+8 s of backoff at most) rides out a short
// Cachix hiccup without stalling a CI job for long.
const (
	DefaultBaseURL     = "https://app.cachix.org"
	DefaultUserAgent   = "create-pin-refs/dev"
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 5
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = 30 * time.Second
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
	maxAttempts int
	baseDelay   time.Duration
	maxDelay    time.Duration
	maxBodySize int64
	sleep       func(context.Context, time.Duration) error
	onRetry     func(RetryEvent)
	now         func() time.Time
}

// RetryEvent describes a failed attempt that will be retried.
type RetryEvent struct {
	Attempt     int           // the attempt that failed, from 1
	MaxAttempts int           // the budget
	Delay       time.Duration // the wait before the next attempt
	Err         error         // why it failed; never holds the token
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default client (which has a 30 s timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithToken sends "Authorization: Bearer TOKEN"; an empty token sends none.
// Surrounding whitespace is dropped, as tokens often come from files.
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

// WithRetry sets the attempt budget (at least 1) and the exponential backoff
// bounds; maxDelay also caps a server's Retry-After.
func WithRetry(maxAttempts int, baseDelay, maxDelay time.Duration) Option {
	return func(c *Client) {
		c.maxAttempts, c.baseDelay, c.maxDelay = maxAttempts, baseDelay, maxDelay
	}
}

// WithMaxBodySize limits how many bytes of a successful answer are read.
func WithMaxBodySize(n int64) Option {
	return func(c *Client) { c.maxBodySize = n }
}

// WithSleep replaces the wait between attempts, so tests need not sleep. The
// function must return ctx.Err() if ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) {
		if sleep != nil {
			c.sleep = sleep
		}
	}
}

// WithRetryHook is called before each wait, e.g. to log "retrying in 2s".
func WithRetryHook(f func(RetryEvent)) Option {
	return func(c *Client) { c.onRetry = f }
}

// WithClock replaces time.Now, used to read a Retry-After given as a date.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// New returns a client for the Cachix API at baseURL (e.g.
// DefaultBaseURL); baseURL may carry a path prefix.
func New(baseURL string, opts ...Option) (*Client, error) {
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("cachix base URL: %w", err)
	}
	if base.Scheme != "http" && base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("cachix base URL %q: want http(s)://HOST[/PATH]", base.Redacted())
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("cachix base URL %q: must not have a query or fragment", base.Redacted())
	}
	c := &Client{
		base:        base,
		httpClient:  &http.Client{Timeout: DefaultTimeout},
		userAgent:   DefaultUserAgent,
		maxAttempts: DefaultMaxAttempts,
		baseDelay:   DefaultBaseDelay,
		maxDelay:    DefaultMaxDelay,
		maxBodySize: DefaultMaxBodySize,
		sleep:       retry.Sleep,
		now:         time.Now,
	}
	for _, opt := range opts {
		opt(c)
	}
	switch {
	case c.maxAttempts < 1:
		return nil, fmt.Errorf("cachix client: retry attempts must be at least 1, got %d", c.maxAttempts)
	case c.baseDelay < 0 || c.maxDelay < 0:
		return nil, errors.New("cachix client: retry delays must not be negative")
	case c.maxBodySize < 1:
		return nil, fmt.Errorf("cachix client: max body size must be positive, got %d", c.maxBodySize)
	}
	return c, nil
}

// Pins returns every pin of cache (Cachix sends the whole list, unpaged).
func (c *Client) Pins(ctx context.Context, cache string) ([]Pin, error) {
	u, err := c.endpoint(cache, "/pin")
	if err != nil {
		return nil, err
	}
	body, err := c.get(ctx, cache, u)
	if err != nil {
		return nil, err
	}
	pins, err := decodePins(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
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

// retryableError marks a failed attempt worth repeating.
type retryableError struct {
	err        error
	retryAfter time.Duration
	hasAfter   bool
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// get fetches u with retries and returns the body of a 2xx answer.
func (c *Client) get(ctx context.Context, cache string, u *url.URL) ([]byte, error) {
	return c.send(ctx, http.MethodGet, cache, u, nil)
}

// send makes a request with retries and returns the body of a 2xx answer;
// a non-nil body is sent as JSON.
func (c *Client) send(ctx context.Context, method, cache string, u *url.URL, reqBody []byte) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		body, err := c.attempt(ctx, method, cache, u, reqBody)
		if err == nil {
			return body, nil
		}
		var re *retryableError
		if !errors.As(err, &re) {
			return nil, err
		}
		if attempt >= c.maxAttempts {
			return nil, fmt.Errorf("giving up after %d attempts: %w", attempt, re.err)
		}
		delay := c.backoff(attempt, re)
		if c.onRetry != nil {
			c.onRetry(RetryEvent{Attempt: attempt, MaxAttempts: c.maxAttempts, Delay: delay, Err: re.err})
		}
		if err := c.sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("stopped retrying after %d attempts: %w (last error: %w)", attempt, err, re.err)
		}
	}
}

// attempt makes one request. Errors worth retrying come as *retryableError.
func (c *Client) attempt(ctx context.Context, method, cache string, u *url.URL, reqBody []byte) ([]byte, error) {
	var rd io.Reader
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	req.Header.Set("Accept", "application/json")
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// *url.Error already names the method and URL (without password).
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &retryableError{err: err}
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := c.checkResponse(resp, cache)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			d, ok := retry.ParseAfter(resp.Header.Get("Retry-After"), c.now())
			return nil, &retryableError{err: apiErr, retryAfter: d, hasAfter: ok}
		}
		return nil, apiErr
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBodySize+1))
	if err != nil {
		err = fmt.Errorf("%s %s: reading body: %w", method, u.Redacted(), err)
		if ctx.Err() != nil {
			return nil, err
		}
		// A connection cut mid-body is as transient as one refused.
		return nil, &retryableError{err: err}
	}
	if int64(len(body)) > c.maxBodySize {
		return nil, fmt.Errorf("%s %s: response body is over the %d-byte limit: %w", method, u.Redacted(), c.maxBodySize, ErrTooLarge)
	}
	return body, nil
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

// backoff picks the wait after the given failed attempt: the server's
// Retry-After if any, else the shared backoff; both capped at maxDelay.
func (c *Client) backoff(attempt int, re *retryableError) time.Duration {
	if re.hasAfter {
		return min(re.retryAfter, c.maxDelay)
	}
	return retry.Backoff(attempt, c.baseDelay, c.maxDelay)
}
