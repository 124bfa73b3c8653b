package cachix

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNotInCache: the binary cache has no narinfo for a store path.
var ErrNotInCache = errors.New("not in the binary cache")

// NotInCacheError says which store path a binary cache lacks.
type NotInCacheError struct {
	StorePath string
	URL       string // the narinfo asked for, without credentials
}

func (e *NotInCacheError) Error() string {
	return fmt.Sprintf("%s is not in the binary cache (%s answered 404 Not Found)", e.StorePath, e.URL)
}

func (e *NotInCacheError) Unwrap() error { return ErrNotInCache }

// CheckStorePath asks the binary cache at the client's base URL (a
// substituter such as https://NAME.cachix.org, not the API) whether it holds
// storePath, by fetching its narinfo. A missing path gives a
// *NotInCacheError; cache names only label errors.
//
// This is the least a pin needs; the narinfo package reads narinfos in full.
func (c *Client) CheckStorePath(ctx context.Context, cache, storePath string) error {
	rest, ok := strings.CutPrefix(storePath, "/nix/store/")
	if !ok || len(rest) < 32 || strings.IndexFunc(rest[:32], notHashChar) >= 0 {
		return fmt.Errorf("%q is not a store path", storePath)
	}
	hash := rest[:32]
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + "/" + hash + ".narinfo"
	u.RawPath = ""
	if c.base.RawPath != "" {
		u.RawPath = strings.TrimSuffix(c.base.RawPath, "/") + "/" + hash + ".narinfo"
	}
	_, err := c.get(ctx, cache, &u)
	var apiErr *APIError
	if errors.As(err, &apiErr) && errors.Is(err, ErrNotFound) {
		return &NotInCacheError{StorePath: storePath, URL: u.Redacted()}
	}
	return err
}

func notHashChar(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') }
