package s3bucket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/kwbauson/create-pin-refs/pkg/weburl"
)

// Options say where a Bucket is and how to reach it. Credentials are not
// among them: they come from the standard AWS settings (see Open).
type Options struct {
	Location Location
	// Endpoint is an S3-compatible server, https://HOST[:PORT] (R2, B2,
	// MinIO…), reached with path-style requests; "" is AWS itself, or the
	// endpoint that AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the shared
	// config name.
	Endpoint string
	// Region overrides AWS_REGION and the shared config; with neither it
	// is us-east-1, which R2 ("auto"), MinIO and versitygw accept and AWS
	// answers with the bucket's own region when it is another.
	Region string
	// HTTPClient, if set, sends the S3 requests, with its own TLS roots;
	// nil is the SDK's client, which trusts AWS_CA_BUNDLE too.
	HTTPClient *http.Client
}

// DefaultRegion is the region used when none is configured.
const DefaultRegion = "us-east-1"

// Reasons an endpoint is refused; an *EndpointError wraps one of them.
var (
	ErrEndpoint  = errors.New("not an S3 endpoint: an http(s) URL of the server alone, with no path (the bucket goes in the s3:// URL), query or credentials")
	ErrPlainHTTP = errors.New("plain http would send the request signatures and every object in the clear (the signature does not encrypt the body); use https, or an http endpoint on a loopback address (127.0.0.0/8, ::1, localhost)")
)

// EndpointError is a refused S3 endpoint.
type EndpointError struct {
	Endpoint string
	Err      error
}

func (e *EndpointError) Error() string { return fmt.Sprintf("S3 endpoint %q: %v", e.Endpoint, e.Err) }
func (e *EndpointError) Unwrap() error { return e.Err }

// Bucket reads and writes the names under one Location. It is safe for
// concurrent use.
type Bucket struct {
	loc      Location
	endpoint string // "" for AWS
	region   string
	client   *s3.Client
	// noMultiDelete is set once the server answers DeleteObjects with
	// NotImplemented, so that later deletes go one by one at once.
	noMultiDelete atomic.Bool
}

// Open makes a client for o.Location. Credentials and region come from the
// AWS SDK's default chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
// AWS_SESSION_TOKEN, AWS_PROFILE with the shared config and credentials
// files, AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (GitHub's OIDC),
// container and instance roles. Open retrieves them once, so that missing
// credentials fail here, before any work, as ErrCredentials.
func Open(ctx context.Context, o Options) (*Bucket, error) {
	// A Location made by hand gets the checks of one parsed, and its form.
	loc, err := ParseLocation(o.Location.String())
	if err != nil {
		return nil, err
	}
	if o.Endpoint != "" {
		if err := checkEndpoint(o.Endpoint); err != nil {
			return nil, err
		}
	}
	load := []func(*config.LoadOptions) error{
		config.WithDefaultRegion(DefaultRegion),
		// The SDK's default checksums (CRC32 headers and trailers on every
		// upload, validation of every download) are refused by R2 and some
		// MinIO and B2 set-ups; TLS already guards the bytes in transit.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// Every line a run prints goes through pkg/actions; the SDK's
		// warnings would bypass it.
		config.WithLogger(logging.Nop{}),
	}
	if o.Region != "" {
		load = append(load, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		// A malformed shared config file, an unknown AWS_PROFILE, an
		// unreadable AWS_CA_BUNDLE.
		return nil, &Error{Op: "LoadConfig", Bucket: loc.Bucket, Kind: ErrConfig, Detail: configSources, Err: err}
	}
	b := &Bucket{loc: loc, region: cfg.Region}
	b.client = s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.HTTPClient != nil {
			// Here, not in LoadDefaultConfig, which would refuse a client it
			// cannot add AWS_CA_BUNDLE to: that bundle is then for the
			// credential requests (STS, SSO) only.
			so.HTTPClient = o.HTTPClient
		}
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		if so.BaseEndpoint != nil && *so.BaseEndpoint != "" {
			// Virtual-hosted names need wildcard DNS and certificates that
			// most S3-compatible servers do not have.
			so.UsePathStyle = true
			b.endpoint = *so.BaseEndpoint
		}
	})
	if o.Endpoint == "" && b.endpoint != "" {
		// From AWS_ENDPOINT_URL(_S3) or the shared config: the same check.
		if err := checkEndpoint(b.endpoint); err != nil {
			return nil, err
		}
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, &Error{Op: "RetrieveCredentials", Bucket: loc.Bucket, Kind: ErrCredentials, Detail: credentialSources, Err: err}
	}
	return b, nil
}

// Location is where the bucket's names are.
func (b *Bucket) Location() Location { return b.loc }

// String names the place and the server, never the credentials.
func (b *Bucket) String() string {
	return fmt.Sprintf("%s (%s, region %s)", b.loc, b.server(), b.region)
}

// checkEndpoint accepts an http(s) URL with a host and no path, and plain
// http only to this machine.
func checkEndpoint(raw string) error {
	u, err := weburl.Parse(raw)
	if err != nil {
		return &EndpointError{Endpoint: weburl.Redacted(raw), Err: errors.Join(ErrEndpoint, err)}
	}
	if u.Path != "" && u.Path != "/" {
		return &EndpointError{Endpoint: u.Redacted(), Err: ErrEndpoint}
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return &EndpointError{Endpoint: u.Redacted(), Err: ErrPlainHTTP}
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
