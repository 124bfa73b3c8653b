// Package s3server starts a real S3 server for tests: versitygw (its posix
// back end, in a t.TempDir) on 127.0.0.1, on a free port, with random root
// credentials, stopped in t.Cleanup. Tests skip when the binary is absent;
// test/s3server/install.sh builds it and test/all.sh runs that.
//
// The posix back end maps keys to files, so it cannot hold an object "x" and
// an object "x/y" together (the second PUT fails): choose keys accordingly.
package s3server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Version is the versitygw release the tests are written against; install.sh
// installs the same.
const Version = "v1.8.0"

// EnvBinary names the versitygw binary to use.
const EnvBinary = "CPR_VERSITYGW"

// Region is the region the server answers for (versitygw's default).
const Region = "us-east-1"

// Server is one running versitygw.
type Server struct {
	// URL is the S3 endpoint, http://127.0.0.1:PORT, for path-style requests.
	URL string
	// AccessKey and SecretKey are the root user's credentials.
	AccessKey, SecretKey string
	// Dir is the posix back end's top folder: one sub-folder per bucket.
	Dir string
	// iamDir holds the users CreateUser adds (versitygw's internal IAM).
	iamDir string

	client *s3.Client
}

// Binary finds versitygw: $CPR_VERSITYGW, else where install.sh puts it, else
// on PATH. The error says how to install it.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("CPR_TOOLS_CACHE"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, "/var/cache/create-pin-refs/tools")
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "create-pin-refs", "tools"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw-"+Version, "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("versitygw %s not found (set %s, or run bash test/s3server/install.sh)", Version, EnvBinary)
}

// Start starts a server, or skips the test when versitygw is not installed.
// A $CPR_VERSITYGW naming no file fails the test: test/all.sh sets it, and
// a broken install must not pass as skipped tests.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	switch {
	case err != nil && os.Getenv(EnvBinary) != "":
		t.Fatalf("no S3 server: %v", err)
	case err != nil:
		t.Skipf("no S3 server: %v", err)
	}
	s := &Server{AccessKey: "AK" + random(t, 9), SecretKey: random(t, 20), Dir: t.TempDir(), iamDir: t.TempDir()}
	// A free port can be taken between its probe and versitygw's listen:
	// try a few.
	for attempt := 1; ; attempt++ {
		err := s.start(t, bin)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("starting versitygw: %v", err)
		}
	}
	s.client = s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		// versitygw accepts the SDK's default checksums; the helper keeps
		// to what every S3 server takes all the same.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	return s
}

func (s *Server) start(t testing.TB, bin string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()

	var out lockedBuffer
	cmd := exec.Command(bin, "--access", s.AccessKey, "--secret", s.SecretKey,
		"--port", addr, "--region", Region, "--iam-dir", s.iamDir, "--quiet", "posix", s.Dir)
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	// Ready when it answers HTTP at all (an anonymous request gets 403).
	url := "http://" + addr
	hc := &http.Client{Timeout: time.Second}
	for range 200 { // 200 × 25 ms: it starts in about 50 ms
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited: %v\n%s", err, out.String())
		default:
		}
		resp, err := hc.Get(url + "/")
		if err == nil {
			resp.Body.Close()
			s.URL = url
			t.Cleanup(stop)
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	stop()
	return fmt.Errorf("versitygw did not answer on %s within 5s\n%s", addr, out.String())
}

// Client is an S3 client with the root credentials, for setting up and
// checking a bucket from outside the code under test.
func (s *Server) Client() *s3.Client { return s.client }

// Env points the AWS SDK's default chain at this server's root credentials
// through the standard variables, and away from the machine's own AWS
// files and instance metadata, for the rest of the test.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	Isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	t.Setenv("AWS_REGION", Region)
}

// CLIEnv is the environment of a process that uses this server with the
// root credentials through the AWS SDK's default chain, and nothing of the
// machine's own AWS settings.
func (s *Server) CLIEnv() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey, "AWS_REGION=" + Region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
}

// Isolate clears the AWS SDK's settings for the rest of the test: no
// credentials or region from the environment, no shared config files, no
// instance metadata (which would reach for an address off this machine).
func Isolate(t testing.TB) {
	t.Helper()
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
		"AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(v, "")
	}
	empty := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// CreateUser adds a user of role "user" and returns its credentials. Unlike
// root, who passes every check, such a user is bound by bucket policies:
// with none, it may do nothing in a bucket root made.
func (s *Server) CreateUser(t testing.TB) (accessKey, secretKey string) {
	t.Helper()
	accessKey, secretKey = "AU"+random(t, 9), random(t, 20)
	body := []byte("<Account><Access>" + accessKey + "</Access><Secret>" + secretKey +
		"</Secret><Role>user</Role></Account>")
	req, err := http.NewRequest(http.MethodPatch, s.URL+"/create-user", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, "s3", Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("creating a user: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("creating a user: status %d: %s", resp.StatusCode, msg)
	}
	return accessKey, secretKey
}

// SetPolicy sets a bucket's policy document, failing the test on error.
func (s *Server) SetPolicy(t testing.TB, bucket string, policy any) {
	t.Helper()
	doc, err := json.Marshal(policy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{
		Bucket: &bucket, Policy: aws.String(string(doc)),
	}); err != nil {
		t.Fatalf("setting the policy of bucket %s: %v", bucket, err)
	}
}

// CreateBucket makes a bucket, failing the test on error.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if _, err := s.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
}

// AllowAnonymousRead sets a bucket policy letting anyone GET its objects, so
// plain HTTP GETs of URL/BUCKET/KEY work, as a public bucket or CDN would
// serve them.
func (s *Server) AllowAnonymousRead(t testing.TB, bucket string) {
	t.Helper()
	s.SetPolicy(t, bucket, map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": "*",
			"Action":    []string{"s3:GetObject"},
			"Resource":  []string{"arn:aws:s3:::" + bucket + "/*"},
		}},
	})
}

// ObjectURL is the plain HTTP URL of an object, path-style.
func (s *Server) ObjectURL(bucket, key string) string {
	return s.URL + "/" + bucket + "/" + strings.TrimPrefix(key, "/")
}

func random(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// lockedBuffer collects the server's output from its own goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
