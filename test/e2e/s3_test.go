package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// publishS3 publishes the cache's pins in s3 mode to the prefix cache of the
// bucket, with the real CLI, checks that the bucket serves each file of the
// site it wrote to --out (but _headers, whose headers the objects carry),
// and returns the site's base URL: the bucket's plain HTTP address.
func publishS3(ctx context.Context, t *testing.T, srv *servers, cache, upstream string) (string, error) {
	base := srv.s3.ObjectURL(s3Bucket, cache)
	out := filepath.Join(t.TempDir(), "site")
	if _, err := runCLIEnv(ctx, t, srv.cli, srv.s3.CLIEnv(), "--cache", cache, "--cachix-url", srv.cachix.URL(), "--mode", "s3",
		"--s3-url", "s3://"+s3Bucket+"/"+cache, "--s3-endpoint", srv.s3.URL, "--site-url", base+"/", "--out", out, "--upstream", upstream); err != nil {
		return "", err
	}
	files, err := readTree(out)
	if err != nil {
		return "", err
	}
	delete(files, site.Headers)
	for name, want := range files {
		resp, err := http.Get(base + "/" + name)
		if err != nil {
			return "", err
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			return "", fmt.Errorf("s3 mode: GET %s/%s: %d, %d bytes (%v); want the %d bytes of %s", base, name, resp.StatusCode, len(got), err, len(want), filepath.Join(out, name))
		}
	}
	return base, nil
}
