package s3bucket

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// openAt starts nothing: it opens loc on srv with the root credentials taken
// from the environment, as a run would take them, sending through hc if set.
func openAt(t *testing.T, srv *s3server.Server, loc Location, hc *http.Client) *Bucket {
	t.Helper()
	srv.Env(t)
	b, err := Open(context.Background(), Options{Location: loc, Endpoint: srv.URL, HTTPClient: hc})
	if err != nil {
		t.Fatalf("Open(%s): %v", loc, err)
	}
	return b
}

// counter counts the requests that pass through it, by method.
type counter struct {
	mu   sync.Mutex
	n    map[string]int
	next http.RoundTripper
}

func newCounter() *counter { return &counter{n: map[string]int{}, next: http.DefaultTransport} }

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.Method]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// take returns the counts so far and starts again.
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// putAll writes an empty object at prefix+name for each name, through the
// server's own client, a few at a time.
func putAll(t *testing.T, srv *s3server.Server, bucket, prefix string, names []string) error {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for _, n := range names {
		g.Go(func() error {
			_, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: &bucket, Key: aws.String(prefix + n), Body: strings.NewReader(""),
			})
			return err
		})
	}
	return g.Wait()
}
