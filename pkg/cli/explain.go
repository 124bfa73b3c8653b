package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/publish/branch"
	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// retryPolicy is the run's retry policy, with each retry logged.
func retryPolicy(env Env, rep reporter) retry.Policy {
	p := env.Retry
	p.OnRetry = func(e retry.Event) { rep.Logf("%s", e) }
	return p
}

// explain adds to an inner package's typed error which option to change:
// inner packages never name flags.
func explain(err error, cfg *config.Config) error {
	if hint := optionHint(err, cfg); hint != "" {
		return fmt.Errorf("%w: %s", err, hint)
	}
	return err
}

func optionHint(err error, cfg *config.Config) string {
	var (
		apiErr *cachix.APIError
		redir  *httpauth.RedirectError
		urlErr *url.Error
		ex     *retry.ExhaustedError
		perm   *retry.PermanentError
	)
	switch {
	case errors.As(err, &apiErr):
		switch apiErr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			if !apiErr.TokenSent {
				return "pass --auth-token (in a workflow: auth-token: ${{ secrets.CACHIX_AUTH_TOKEN }}) or set CACHIX_AUTH_TOKEN"
			}
			return "check --auth-token (CACHIX_AUTH_TOKEN)"
		case http.StatusNotFound:
			return "check --cache (and --cachix-url)"
		}
	case errors.Is(err, branch.ErrForeignBranch):
		return "pass --force-branch to publish on top of it anyway (a normal commit; nothing is lost), or choose another --branch"
	case errors.Is(err, branch.ErrDefaultBranch):
		return "choose another --branch (not even --force-branch writes the default branch)"
	case errors.As(err, &redir):
		if opt := optionFor(redir.From, cfg); opt != "" {
			return "check --" + opt
		}
	case (errors.As(err, &ex) || errors.As(err, &perm)) && errors.As(err, &urlErr):
		// No answer at all, or a name that does not resolve: a wrong
		// host is likelier than an outage.
		if u, perr := url.Parse(urlErr.URL); perr == nil {
			if opt := optionFor(httpauth.OriginOf(u), cfg); opt != "" {
				return "is --" + opt + " right?"
			}
		}
	}
	return ""
}

// optionFor names the option whose URL has origin o.
func optionFor(o httpauth.Origin, cfg *config.Config) string {
	for _, c := range []struct{ opt, url string }{{"cachix-url", cfg.CachixURL}, {"github-api-url", cfg.GitHubAPIURL}} {
		if u, err := url.Parse(c.url); err == nil && c.url != "" && httpauth.OriginOf(u) == o {
			return c.opt
		}
	}
	return ""
}
