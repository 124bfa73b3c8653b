package kept

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
)

// Dir is an earlier site in a local folder, such as the previous --out.
type Dir string

// Get reads at most limit+1 bytes of the file at name under the folder.
func (d Dir) Get(_ context.Context, name string, limit int64) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("%q: %w", name, ErrNotFound)
	}
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

func (d Dir) String() string { return string(d) }

// errorBodyLimit bounds what is read of an answer other than 200, only to
// keep its connection.
const errorBodyLimit = 64 << 10

// HTTP is the live site at Base (ending in "/"), read with Client through the
// project's retry Policy: network errors, 5xx and 429 are tried again.
type HTTP struct {
	Client *http.Client
	Base   string
	Policy retry.Policy
}

// Get reads at most limit+1 bytes of Base+name; a 404 or 410 is ErrNotFound.
func (h HTTP) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	u := h.Base + name
	var data []byte
	_, err := h.Policy.Do(ctx, "GET "+u, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := h.Client.Do(req)
		if err != nil {
			return retry.Again(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			// Read to its end, the connection serves the next request (an
			// earlier site's pins.json is often a 404, then index.html is read).
			defer func() { _, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyLimit)) }()
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			// The body is read within the attempt, which the policy bounds.
			if data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1)); err != nil {
				return retry.Again(err)
			}
			return nil
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			return fmt.Errorf("%s: %s: %w", u, resp.Status, ErrNotFound)
		case retry.TransientStatus(resp.StatusCode):
			return retry.Again(fmt.Errorf("GET %s: %s", u, resp.Status))
		}
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	})
	return data, err
}

func (h HTTP) String() string { return strings.TrimSuffix(h.Base, "/") }
