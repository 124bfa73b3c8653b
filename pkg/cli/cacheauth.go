package cli

import (
	"fmt"
	"net/url"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/httpauth"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/netrc"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// cacheAuth is what the binary caches of a run may be sent: each netrc
// entry to its own host, as Nix sends it, and the Cachix token to the
// origin of the cache's own binary cache only. A --substituter elsewhere
// (a proxy, a mirror) could be anyone's, so it gets no token.
type cacheAuth struct {
	token string      // "" none, or a public cache
	own   string      // the cache's own binary cache URL; "" unknown
	netrc *netrc.File // nil: no --netrc-file
}

// ownBinaryCache is the cache's own binary cache: the uri of its
// information, else Cachix's https://CACHE.cachix.org; "" when neither is
// known.
func ownBinaryCache(cache string, info *cachix.CacheInfo) string {
	if info != nil && info.URI != "" {
		return info.URI
	}
	if cache != "" {
		return "https://" + cache + ".cachix.org"
	}
	return ""
}

// readNetrc reads --netrc-file ("": none) and masks its passwords before
// anything else is printed.
func readNetrc(path string, rep reporter) (*netrc.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := netrc.Read(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --netrc-file: %w", config.ErrUsage, err)
	}
	for _, p := range f.Passwords() {
		rep.Mask(p)
	}
	return f, nil
}

// options is what the binary cache at rawURL is sent: its host's netrc
// entry, else the token if rawURL has the origin of the cache's own binary
// cache and is not an upstream cache.
func (a cacheAuth) options(rawURL string, upstream bool) narinfo.Options {
	u, err := url.Parse(rawURL)
	if err != nil {
		return narinfo.Options{} // narinfo.New says what is wrong with it
	}
	if e, ok := a.netrc.Machine(u.Hostname()); ok && e.Login+e.Password != "" {
		return narinfo.Options{Basic: &httpauth.Basic{Login: e.Login, Password: e.Password}}
	}
	switch {
	case a.token == "":
		return narinfo.Options{}
	case !upstream && a.isOwn(u):
		return narinfo.Options{Token: a.token}
	}
	return narinfo.Options{TokenWithheld: true}
}

// isOwn tells whether u has the origin of the cache's own binary cache.
func (a cacheAuth) isOwn(u *url.URL) bool {
	own, err := url.Parse(a.own)
	return a.own != "" && err == nil && httpauth.OriginOf(own) == httpauth.OriginOf(u)
}

// hint says how to read a binary cache that refused what rawURL was sent.
func (a cacheAuth) hint(se *narinfo.StatusError, rawURL string, upstream bool) string {
	host := rawURL
	u, err := url.Parse(rawURL)
	if err == nil {
		host = u.Hostname()
	}
	entry := fmt.Sprintf("a --netrc-file with the line `machine %s password TOKEN`, as Nix reads it", host)
	if a.netrc != nil {
		entry = fmt.Sprintf("a line `machine %s password TOKEN` in --netrc-file, which has none for that host", host)
	}
	switch {
	case se.Auth == narinfo.AuthBasic:
		return fmt.Sprintf("the --netrc-file entry for %s was refused or lacks read access to this cache", host)
	case upstream:
		return "upstream caches are sent no token: a private one needs " + entry + " (--upstream none: no upstream cache)"
	case se.Auth == narinfo.AuthToken:
		return "the auth token lacks read access to this cache"
	case err == nil && a.isOwn(u):
		return "a private cache needs --auth-token (in a workflow: auth-token: ${{ secrets.CACHIX_AUTH_TOKEN }}) or CACHIX_AUTH_TOKEN"
	}
	// A --substituter given by hand, elsewhere than the cache's own.
	own, fix := "the cache's own binary cache, unknown without --cache or --cache-info-file", ""
	if o, err := url.Parse(a.own); a.own != "" && err == nil {
		own = fmt.Sprintf("the origin of the cache's own binary cache, %s (its uri)", httpauth.OriginOf(o))
		fix = "pass a --substituter with that origin, or "
	}
	why := "the auth token is sent only to " + own
	if se.Auth == narinfo.AuthWithheld {
		why = "a hand-given --substituter elsewhere is sent no auth token, which goes only to " + own
	}
	return fmt.Sprintf("%s; %sto read the cache through %s, give %s", why, fix, host, entry)
}
