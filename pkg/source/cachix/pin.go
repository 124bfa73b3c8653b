package cachix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
)

// Keep is how long Cachix keeps the revisions of a pin (the cachix CLI's
// --keep-revisions, --keep-days and --keep-forever). A nil *Keep leaves it to
// Cachix.
type Keep struct {
	tag string // "Revisions", "Days" or "Forever"
	n   int
}

// KeepRevisions keeps the last n revisions.
func KeepRevisions(n int) *Keep { return &Keep{tag: "Revisions", n: n} }

// KeepDays keeps revisions for n days.
func KeepDays(n int) *Keep { return &Keep{tag: "Days", n: n} }

// KeepForever keeps every revision.
func KeepForever() *Keep { return &Keep{tag: "Forever"} }

// MarshalJSON encodes k as Cachix's API decodes it (a tagged sum):
// {"tag":"Revisions","contents":N}, {"tag":"Days","contents":N} or
// {"tag":"Forever"}.
func (k *Keep) MarshalJSON() ([]byte, error) {
	switch {
	case k == nil:
		return []byte("null"), nil
	case k.tag == "Forever":
		return json.Marshal(struct {
			Tag string `json:"tag"`
		}{k.tag})
	case k.tag == "Revisions" || k.tag == "Days":
		return json.Marshal(struct {
			Tag      string `json:"tag"`
			Contents int    `json:"contents"`
		}{k.tag, k.n})
	}
	return nil, fmt.Errorf("keep policy %q: unknown", k.tag)
}

// String reads "last 3 revisions", "30 days" or "forever".
func (k *Keep) String() string {
	switch {
	case k == nil:
		return "Cachix's default"
	case k.tag == "Revisions":
		return fmt.Sprintf("last %d revisions", k.n)
	case k.tag == "Days":
		return fmt.Sprintf("%d days", k.n)
	}
	return "forever"
}

// PinCreate is the body of POST /api/v1/cache/NAME/pin.
type PinCreate struct {
	Name      string   `json:"name"`
	StorePath string   `json:"storePath"`
	Artifacts []string `json:"artifacts"` // Cachix requires an array, never null
	Keep      *Keep    `json:"keep"`
}

// CreatePin pins a store path under a name: a new pin, or the next revision
// of an existing one. It needs a token that may write to the cache. Failures
// are retried like every other call; Cachix has been seen answering 500 and
// yet taking the pin, which only repeats the same revision's content.
func (c *Client) CreatePin(ctx context.Context, cache string, p PinCreate) error {
	u, err := c.endpoint(cache, "/pin")
	if err != nil {
		return err
	}
	if p.Artifacts == nil {
		p.Artifacts = []string{}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("pin %q: %w", p.Name, err)
	}
	_, err = c.send(ctx, http.MethodPost, cache, u, body)
	return err
}

// ErrNotListed is the cause of a NotListedError.
var ErrNotListed = errors.New("pin not listed yet")

// NotListedError says a pin that Cachix accepted did not show in the pin
// list within the wait.
type NotListedError struct {
	Cache, Name, StorePath string
	Polls                  int
	Waited                 time.Duration
}

func (e *NotListedError) Error() string {
	return fmt.Sprintf("Cachix accepted pin %q of cache %q, but its list did not show it at %s after %d reads over %s (Cachix shows new pins late)",
		e.Name, e.Cache, e.StorePath, e.Polls, retry.Round(e.Waited))
}

func (e *NotListedError) Unwrap() error { return ErrNotListed }

// The delays between reads of the list while a new pin does not show: a
// schedule of its own, as it waits for Cachix to catch up, not for a failure
// to pass.
const (
	confirmBaseDelay = time.Second
	confirmMaxDelay  = 15 * time.Second
)

// ConfirmPin reads the cache's pins until the pin named name shows
// storePath, waiting in between with growing delays whose sum stays within
// wait, and returns it. A pin that does not show in time gives a
// *NotListedError.
func (c *Client) ConfirmPin(ctx context.Context, cache, name, storePath string, wait time.Duration) (Pin, error) {
	var waited time.Duration
	for n := 1; ; n++ {
		list, err := c.Pins(ctx, cache)
		if err != nil {
			return Pin{}, err
		}
		if i := slices.IndexFunc(list, func(p Pin) bool { return p.Name == name }); i >= 0 && list[i].LastRevision.StorePath == storePath {
			return list[i], nil
		}
		d := min(retry.Backoff(n, confirmBaseDelay, confirmMaxDelay), wait-waited)
		if d <= 0 {
			return Pin{}, &NotListedError{Cache: cache, Name: name, StorePath: storePath, Polls: n, Waited: waited}
		}
		if err := c.policy.Sleep(ctx, d); err != nil {
			return Pin{}, fmt.Errorf("waiting for pin %q to show: %w", name, err)
		}
		waited += d
	}
}
