package branch

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// DefaultAPIURL is github.com's REST API, what GITHUB_API_URL holds there.
const DefaultAPIURL = "https://api.github.com"

// NewClient returns a go-github client for apiURL (GITHUB_API_URL: empty or
// https://api.github.com for github.com, https://HOST/api/v3 for GitHub
// Enterprise Server, any http(s) URL for a test server) that sends token,
// if not empty, as a Bearer token to apiURL's origin only: the token rides
// on httpauth's transport, not go-github's, so no redirect can carry it
// elsewhere, and a redirect to another origin is refused. A nil httpClient
// gets one with a timeout, so a stalled connection cannot hang a workflow.
func NewClient(httpClient *http.Client, apiURL, token string) (*github.Client, error) {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 60 * time.Second}
	}
	apiURL = strings.TrimSpace(apiURL)
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	u, err := weburl.Parse(apiURL)
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL: %w", err)
	}
	hc, err := httpauth.Client(httpClient, u.String(), token)
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL %q: %w", u.Redacted(), err)
	}
	c := github.NewClient(hc)
	if strings.TrimSuffix(apiURL, "/") == DefaultAPIURL {
		return c, nil
	}
	// WithEnterpriseURLs adds "/api/v3/" unless the URL has it or the host
	// is an api.* host (GHE.com), which is what GitHub Enterprise expects.
	// Uploads are never used here; give a well-formed URL on the same host.
	uploads := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/api/uploads/"}).String()
	c, err = c.WithEnterpriseURLs(u.String(), uploads)
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL %q: %w", apiURL, err)
	}
	return c, nil
}
