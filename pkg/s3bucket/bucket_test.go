package s3bucket

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

func TestCheckEndpoint(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"https://s3.example.test", nil},
		{"https://acct.r2.example.test/", nil},
		{"https://s3.example.test:9443", nil},
		{"http://127.0.0.1:9000", nil},
		{"http://127.5.6.7", nil},
		{"http://[::1]:9000", nil},
		{"http://localhost:9000", nil},
		{"http://LocalHost", nil},

		{"http://s3.example.test", ErrPlainHTTP},
		{"http://10.0.0.1:9000", ErrPlainHTTP},
		{"http://192.168.1.2", ErrPlainHTTP},
		{"http://[::ffff:10.0.0.1]", ErrPlainHTTP},
		{"http://[fe80::1]", ErrPlainHTTP},
		{"http://localhost.example.test", ErrPlainHTTP},
		{"http://127.0.0.1.example.test", ErrPlainHTTP},
		{"http://0.0.0.0:9000", ErrPlainHTTP},

		{"https://s3.example.test/site", ErrEndpoint},
		{"https://key:secret@s3.example.test", ErrEndpoint},
		{"https://s3.example.test?region=x", ErrEndpoint},
		{"s3.example.test", ErrEndpoint},
		{"s3://site", ErrEndpoint},
		{"ftp://s3.example.test", ErrEndpoint},
	}
	for _, tc := range tests {
		err := checkEndpoint(tc.in)
		var ee *EndpointError
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("checkEndpoint(%q) = %v, want nil", tc.in, err)
		case tc.want != nil && (!errors.Is(err, tc.want) || !errors.As(err, &ee)):
			t.Errorf("checkEndpoint(%q) = %v, want an *EndpointError wrapping %v", tc.in, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("checkEndpoint(%q) = %v shows the password", tc.in, err)
		}
	}
}

// Open refuses a plain-http endpoint off this machine wherever it comes
// from: the option, or the SDK's own variables.
func TestOpenPlainHTTP(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		env      map[string]string
	}{
		{"option", "http://s3.example.test", nil},
		{"AWS_ENDPOINT_URL_S3", "", map[string]string{"AWS_ENDPOINT_URL_S3": "http://s3.example.test"}},
		{"AWS_ENDPOINT_URL", "", map[string]string{"AWS_ENDPOINT_URL": "http://10.1.2.3:9000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dummyCredentials(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Open(context.Background(), Options{Location: Location{Bucket: "site"}, Endpoint: tc.endpoint})
			var ee *EndpointError
			if !errors.Is(err, ErrPlainHTTP) || !errors.As(err, &ee) {
				t.Fatalf("Open = %v, want an *EndpointError wrapping ErrPlainHTTP", err)
			}
		})
	}
}

// The region: the option, else the SDK's settings, else us-east-1.
func TestOpenRegion(t *testing.T) {
	tests := []struct {
		name, option, endpoint string
		env                    map[string]string
		config                 string // the shared config file
		want                   string
	}{
		{name: "none, custom endpoint", endpoint: "https://s3.example.test", want: "us-east-1"},
		{name: "none, AWS", want: "us-east-1"},
		{name: "AWS_REGION", env: map[string]string{"AWS_REGION": "eu-west-1"}, want: "eu-west-1"},
		{name: "AWS_DEFAULT_REGION", env: map[string]string{"AWS_DEFAULT_REGION": "auto"}, endpoint: "https://r2.example.test", want: "auto"},
		{name: "shared config", config: "[default]\nregion = ap-south-1\n", want: "ap-south-1"},
		{name: "option first", option: "auto", env: map[string]string{"AWS_REGION": "eu-west-1"}, want: "auto"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secret := dummyCredentials(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if tc.config != "" {
				p := filepath.Join(t.TempDir(), "config")
				if err := os.WriteFile(p, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_CONFIG_FILE", p)
			}
			b, err := Open(context.Background(), Options{Location: Location{Bucket: "site", Prefix: "pub"}, Endpoint: tc.endpoint, Region: tc.option})
			if err != nil {
				t.Fatal(err)
			}
			if b.region != tc.want {
				t.Errorf("region %q, want %q", b.region, tc.want)
			}
			server := "AWS"
			if tc.endpoint != "" {
				server = tc.endpoint
			}
			want := "s3://site/pub (" + server + ", region " + tc.want + ")"
			if s := b.String(); s != want || strings.Contains(s, secret) {
				t.Errorf("String() = %q, want %q", s, want)
			}
		})
	}
}

// No credentials anywhere: Open says so, and where it looked.
func TestOpenNoCredentials(t *testing.T) {
	s3server.Isolate(t)
	_, err := Open(context.Background(), Options{Location: Location{Bucket: "site"}, Endpoint: "https://s3.example.test"})
	var se *Error
	if !errors.Is(err, ErrCredentials) || !errors.As(err, &se) || se.Op != "RetrieveCredentials" || se.Bucket != "site" {
		t.Fatalf("Open = %v, want an *Error of RetrieveCredentials wrapping ErrCredentials", err)
	}
	for _, w := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not name %s", err, w)
		}
	}
}

// The shared files of the standard chain work (AWS_PROFILE and its
// credentials), and so does an endpoint given as AWS_ENDPOINT_URL_S3.
func TestOpenSharedFiles(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	s3server.Isolate(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[ci]\naws_access_key_id = "+srv.AccessKey+"\naws_secret_access_key = "+srv.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_PROFILE", "ci")
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	ctx := context.Background()
	b, err := Open(ctx, Options{Location: Location{Bucket: "site", Prefix: "pub"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "pins.json", []byte("{}"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "pins.json", 2); err != nil || string(got.Body) != "{}" {
		t.Fatalf("Get = %q, %v", got.Body, err)
	}

	t.Setenv("AWS_PROFILE", "nosuch")
	if _, err := Open(ctx, Options{Location: Location{Bucket: "site"}}); !errors.Is(err, ErrConfig) {
		t.Errorf("Open with an unknown AWS_PROFILE = %v, want ErrConfig", err)
	}
}

// A Location made by hand is checked as a parsed one is.
func TestOpenBadLocation(t *testing.T) {
	for _, tc := range []struct {
		loc  Location
		want error
	}{
		{Location{}, ErrBucketName},
		{Location{Bucket: "Site"}, ErrBucketName},
		{Location{Bucket: "site", Prefix: "../x"}, ErrPrefix},
		{Location{Bucket: "site", Prefix: "a//b"}, ErrPrefix},
	} {
		if _, err := Open(context.Background(), Options{Location: tc.loc}); !errors.Is(err, tc.want) {
			t.Errorf("Open(%+v) = %v, want %v", tc.loc, err, tc.want)
		}
	}
}

// dummyCredentials isolates the test from the machine's AWS settings and
// sets credentials that no server will see, returning the secret.
func dummyCredentials(t *testing.T) string {
	t.Helper()
	s3server.Isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKDUMMY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "dummy-secret-5678")
	return "dummy-secret-5678"
}

// A custom endpoint is addressed path-style, SERVER/BUCKET/KEY: virtual-host
// names (BUCKET.SERVER) need wildcard DNS and certificates that most
// S3-compatible servers lack. (The SDK goes path-style by itself for an IP
// address, so the endpoint here is a name.)
func TestPathStyle(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	srv.Env(t)
	endpoint := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	h := &headers{seen: map[string][]http.Header{}}
	ctx := context.Background()
	// A trailing slash made by hand is dropped as ParseLocation drops it.
	b, err := Open(ctx, Options{Location: Location{Bucket: "site", Prefix: "pub/"}, Endpoint: endpoint, HTTPClient: &http.Client{Transport: h}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "pins.json", []byte("{}"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := h.urls, []string{endpoint + "/site/pub/pins.json"}; !slices.Equal(got, want) {
		t.Errorf("requests to %q, want %q", got, want)
	}
}
