package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// s3Changed is how many pins the S3 section's republish changes.
const s3Changed = 10

// The three publishes measured at each size, in the order they run.
var s3Cases = []string{"first publish", "10 pins changed", "unchanged"}

// s3Bucket and s3Prefix are where the S3 section publishes.
const s3Bucket, s3Prefix = "pins", "site"

// s3Row is one s3 publish: create-pin-refs --mode s3 against versitygw.
type s3Row struct {
	pins     int
	kind     string // one of s3Cases
	wall     sample
	calls    map[string]int // S3 requests by method
	uploaded int64          // request bodies, as the proxy read them
}

// measureS3 publishes n synthetic pins with one-name bundles to a new prefix
// of a versitygw bucket on loopback, then with s3Changed pins moved, then the
// same again. It returns errNoVersitygw when versitygw is not installed.
func measureS3(ctx context.Context, bin string, sizes []int, work string) ([]s3Row, error) {
	gw, err := s3server.Binary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoVersitygw, err)
	}
	var rows []s3Row
	for _, n := range sizes {
		got, err := s3Round(ctx, bin, gw, n, filepath.Join(work, fmt.Sprintf("s3-%d", n)))
		if err != nil {
			return nil, fmt.Errorf("%d pins, s3 mode: %w", n, err)
		}
		rows = append(rows, got...)
	}
	return rows, nil
}

// errNoVersitygw is the S3 section skipped: no S3 server to measure against.
var errNoVersitygw = errors.New("no versitygw")

func s3Round(ctx context.Context, bin, gw string, n int, dir string) ([]s3Row, error) {
	defer os.RemoveAll(dir)
	raw := pinset.Synthetic(n)
	srv, err := startPinServer(raw, serverOptions{})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	s3srv, err := startVersitygw(ctx, gw, dir)
	if err != nil {
		return nil, err
	}
	defer s3srv.Close()
	updated := changePins(raw, s3Changed)
	var rows []s3Row
	for i, pins := range [][]cachix.Pin{raw, updated, updated} {
		if err := srv.setPins(pins); err != nil {
			return nil, err
		}
		before := s3srv.counts.snapshot()
		cmd := exec.CommandContext(ctx, bin, "--cache", cacheName, "--cachix-url", srv.url, "--out", filepath.Join(dir, "out"),
			"--mode", "s3", "--s3-url", "s3://"+s3Bucket+"/"+s3Prefix, "--s3-endpoint", s3srv.url,
			"--site-url", s3srv.url+"/"+s3Bucket+"/"+s3Prefix+"/", "--per-pin-urls", "on", "--verify", "off")
		cmd.Env = s3srv.env()
		s, err := runMeasured(ctx, srv.counts, cmd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s3Cases[i], err)
		}
		calls, up := s3srv.counts.since(before)
		rows = append(rows, s3Row{pins: n, kind: s3Cases[i], wall: s, calls: calls, uploaded: up})
	}
	return rows, nil
}

// versitygw is one versitygw process (posix back end in a folder) behind a
// reverse proxy that counts its requests.
type versitygw struct {
	url                  string // the proxy's
	accessKey, secretKey string
	counts               *s3Counts
	proxy                *http.Server
	stop                 func()
}

func (v *versitygw) env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + v.accessKey, "AWS_SECRET_ACCESS_KEY=" + v.secretKey, "AWS_REGION=" + s3server.Region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
}

func (v *versitygw) Close() {
	v.proxy.Close()
	v.stop()
}

// startVersitygw starts versitygw on a free loopback port with a new bucket,
// and the counting proxy in front of it.
func startVersitygw(ctx context.Context, bin, dir string) (_ *versitygw, err error) {
	key := make([]byte, 24)
	rand.Read(key)
	v := &versitygw{accessKey: "AK" + hex.EncodeToString(key[:8]), secretKey: hex.EncodeToString(key[8:]), counts: &s3Counts{calls: map[string]int{}}}
	data, iam := filepath.Join(dir, "bucket"), filepath.Join(dir, "iam")
	for _, d := range []string{data, iam} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--access", v.accessKey, "--secret", v.secretKey, "--port", addr,
		"--region", s3server.Region, "--iam-dir", iam, "--quiet", "posix", data)
	// Its log says nothing the bench needs unless it fails to start.
	var out strings.Builder
	var outMu sync.Mutex
	cmd.Stdout = writerFunc(func(p []byte) (int, error) { outMu.Lock(); defer outMu.Unlock(); return out.Write(p) })
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	v.stop = func() { cmd.Process.Kill(); <-exited }
	defer func() {
		if err != nil {
			v.stop()
		}
	}()
	backend := "http://" + addr
	ready := false
	hc := &http.Client{Timeout: time.Second}
	for range 200 { // 200 × 25 ms
		if resp, err := hc.Get(backend + "/"); err == nil {
			resp.Body.Close()
			ready = true
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if !ready {
		outMu.Lock()
		defer outMu.Unlock()
		return nil, fmt.Errorf("versitygw did not answer on %s within 5s\n%s", addr, out.String())
	}
	target, _ := url.Parse(backend)
	rp := httputil.NewSingleHostReverseProxy(target)
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	v.url = "http://" + pl.Addr().String()
	v.proxy = &http.Server{Handler: v.counts.wrap(rp)}
	go v.proxy.Serve(pl)
	client := s3.New(s3.Options{Region: s3server.Region, BaseEndpoint: aws.String(backend), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(v.accessKey, v.secretKey, "")})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s3Bucket)}); err != nil {
		v.proxy.Close()
		return nil, fmt.Errorf("creating bucket %s: %w", s3Bucket, err)
	}
	return v, nil
}

// s3Counts counts the requests through the proxy by method, and the bytes
// of their bodies.
type s3Counts struct {
	mu       sync.Mutex
	calls    map[string]int
	uploaded int64
}

type s3Snapshot struct {
	calls    map[string]int
	uploaded int64
}

func (c *s3Counts) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := &countingReader{r: r.Body}
		r.Body = body
		h.ServeHTTP(w, r)
		c.mu.Lock()
		c.calls[r.Method]++
		c.uploaded += body.n
		c.mu.Unlock()
	})
}

func (c *s3Counts) snapshot() s3Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := s3Snapshot{calls: make(map[string]int, len(c.calls)), uploaded: c.uploaded}
	for k, v := range c.calls {
		s.calls[k] = v
	}
	return s
}

// since is what was counted after before was taken.
func (c *s3Counts) since(before s3Snapshot) (map[string]int, int64) {
	now := c.snapshot()
	for k, v := range before.calls {
		now.calls[k] -= v
		if now.calls[k] == 0 {
			delete(now.calls, k)
		}
	}
	return now.calls, now.uploaded - before.uploaded
}

type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// s3Calls shows S3 requests as "3 (GET 2, PUT 1)".
func s3Calls(calls map[string]int) string {
	total := 0
	var parts []string
	for _, method := range []string{"GET", "HEAD", "PUT", "POST", "DELETE"} {
		if c := calls[method]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", method, c))
			total += c
		}
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// s3Title is the S3 section's heading.
const s3Title = "S3 publish"

// writeS3 writes the S3 section: its rows, or why there are none.
func writeS3(w io.Writer, rows []s3Row, skipped string) {
	fmt.Fprintln(w, "## "+s3Title)
	fmt.Fprintln(w)
	if skipped != "" {
		fmt.Fprintf(w, "Not measured in this run (%s).\n\n", skipped)
		return
	}
	fmt.Fprintf(w, "`--mode s3 --per-pin-urls on --verify off` as a whole process against versitygw %s (posix back end) on loopback, "+
		"behind a proxy that counts its requests, on a new prefix: the first publish, a republish with %d pins moved to other store paths, "+
		"then the same pins again. The GETs are the marker (read before the pins), the previous pins.json and index.html, "+
		"the earlier immutable bundles, one read of each object content a republish writes over (kept to put it back should the publish fail), "+
		"and pins.json read back at --site-url as consumers would. A publish with something to write also takes the prefix's lock (a PUT), "+
		"reads the marker's ETag again under it (a HEAD) and deletes the lock when done (a POST, DeleteObjects); the first publish also claims the prefix (a PUT). "+
		"Uploaded is the request bodies' bytes; wall time includes versitygw's answers (its writes to the file system). One round.\n\n",
		s3server.Version, s3Changed)
	fmt.Fprintln(w, "| pins | publish | S3 requests | uploaded | wall | CPU | peak RSS |")
	fmt.Fprintln(w, "|---:|---|---|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.1f MiB |\n", count(r.pins), r.kind, s3Calls(r.calls),
			byteCount(r.uploaded), ms(r.wall.wall), ms(r.wall.cpu), float64(r.wall.rssKiB)/1024)
	}
	fmt.Fprintln(w)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
