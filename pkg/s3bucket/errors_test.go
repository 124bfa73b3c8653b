package s3bucket

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// Each failure the server reports comes back as its sentinel, in an *Error
// naming the operation, bucket and key, with the fix, and no secret.
func TestErrors(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "site")
	ctx := context.Background()
	root := openAt(t, srv, Location{Bucket: "site", Prefix: "x"}, nil)
	if _, err := root.Put(ctx, "there", []byte("1"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	userKey, userSecret := srv.CreateUser(t)

	type op struct {
		name, key string // the operation and the key its error names
		do        func(*Bucket) error
	}
	ops := []op{
		{"GetObject", "x/missing", func(b *Bucket) error { _, err := b.Get(ctx, "missing", 10); return err }},
		{"HeadObject", "x/missing", func(b *Bucket) error { _, err := b.Head(ctx, "missing"); return err }},
		{"PutObject", "x/new", func(b *Bucket) error { _, err := b.Put(ctx, "new", []byte("n"), PutOptions{}); return err }},
		{"ListObjectsV2", "x/", func(b *Bucket) error { _, err := b.List(ctx, "", 10); return err }},
		{"DeleteObjects", "x/there", func(b *Bucket) error { return b.Delete(ctx, "there") }},
	}
	every := func(err error) map[string]error {
		m := map[string]error{}
		for _, o := range ops {
			m[o.name] = err
		}
		return m
	}
	tests := []struct {
		name   string
		bucket string
		env    map[string]string
		region string
		want   map[string]error // by operation; absent: nil
		text   map[string]string
	}{
		{
			name: "bad secret", bucket: "site", env: map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong-secret-1234"},
			want: every(ErrCredentials),
			text: map[string]string{"": "AWS_SECRET_ACCESS_KEY"},
		},
		{
			name: "unknown access key", bucket: "site", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKNOSUCHKEY"},
			want: every(ErrCredentials),
			text: map[string]string{"": "AWS_ACCESS_KEY_ID"},
		},
		{
			name: "no bucket", bucket: "nobucket",
			// A HEAD answer has no body: a missing bucket is a missing object.
			want: map[string]error{"GetObject": ErrNoBucket, "HeadObject": ErrNotFound, "PutObject": ErrNoBucket,
				"ListObjectsV2": ErrNoBucket, "DeleteObjects": ErrNoBucket},
			text: map[string]string{"GetObject": `"nobucket"`, "PutObject": "check --s3-url", "DeleteObjects": "check --s3-url"},
		},
		{
			name: "denied by the policy", bucket: "site", env: map[string]string{"AWS_ACCESS_KEY_ID": userKey, "AWS_SECRET_ACCESS_KEY": userSecret},
			want: every(ErrAccessDenied),
			text: map[string]string{"GetObject": "s3:GetObject on arn:aws:s3:::site/x/* (and s3:ListBucket on arn:aws:s3:::site,", "HeadObject": "s3:GetObject",
				"PutObject": "s3:PutObject on arn:aws:s3:::site/x/*", "ListObjectsV2": "s3:ListBucket on arn:aws:s3:::site",
				"DeleteObjects": "s3:DeleteObject on arn:aws:s3:::site/x/*"},
		},
		{
			name: "wrong region", bucket: "site", region: "eu-west-1",
			want: every(ErrRegion),
			text: map[string]string{"": "eu-west-1"},
		},
		// Last: root's delete succeeds.
		{
			name: "not found", bucket: "site",
			want: map[string]error{"GetObject": ErrNotFound, "HeadObject": ErrNotFound},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.Env(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			b, err := Open(ctx, Options{Location: Location{Bucket: tc.bucket, Prefix: "x"}, Endpoint: srv.URL, Region: tc.region})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range ops {
				err := o.do(b)
				want := tc.want[o.name]
				if !errors.Is(err, want) || (want == nil) != (err == nil) {
					t.Errorf("%s: %v; want %v", o.name, err, want)
					continue
				}
				if err == nil {
					continue
				}
				var se *Error
				if !errors.As(err, &se) || se.Op != o.name || se.Bucket != tc.bucket || se.Key != o.key {
					t.Errorf("%s: %#v; want an *Error of %s %s %s", o.name, err, o.name, tc.bucket, o.key)
				}
				msg := err.Error()
				for _, w := range []string{tc.text[""], tc.text[o.name], "s3://" + tc.bucket + "/" + o.key} {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: %q does not say %q", o.name, msg, w)
					}
				}
				for _, secret := range []string{srv.SecretKey, userSecret, "wrong-secret-1234"} {
					if strings.Contains(msg, secret) {
						t.Errorf("%s: %q shows a secret", o.name, msg)
					}
				}
			}
			// A refused delete left the object alone.
			if tc.want["DeleteObjects"] != nil {
				if _, err := root.Head(ctx, "there"); err != nil {
					t.Errorf("after a refused delete: %v", err)
				}
			}
		})
	}
}

// TestKindOf: a server's code decides; the status only when there is no
// code (a HEAD's answer), so that an unknown code is never taken for a
// missing object.
func TestKindOf(t *testing.T) {
	for _, tt := range []struct {
		code   string
		status int
		want   error
	}{
		{"NoSuchKey", 404, ErrNotFound},
		{"", 404, ErrNotFound},
		{"NoSuchBucket", 404, ErrNoBucket},
		{"XAdminUserNotFound", 404, nil},
		{"", 403, ErrAccessDenied},
		{"SomethingElse", 403, nil},
		{"InvalidAccessKeyId", 403, ErrCredentials},
	} {
		if got := kindOf(tt.code, tt.status); got != tt.want {
			t.Errorf("kindOf(%q, %d) = %v, want %v", tt.code, tt.status, got, tt.want)
		}
	}
}

// An answer of no known kind reads as the server's status, code and
// message, not the SDK's wrapping of them.
func TestErrorOfNoKind(t *testing.T) {
	api := &smithy.GenericAPIError{Code: "OperationAborted", Message: "A conflicting conditional operation is currently in progress against this resource."}
	sdk := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusConflict}}, Err: api},
		RequestID:     "R1",
	}}
	e := &Error{Op: "PutObject", Bucket: "b", Key: "p/k", Err: sdk, Kind: kindOf(api.Code, http.StatusConflict)}
	want := "PutObject s3://b/p/k: server said HTTP 409 OperationAborted, request id R1: A conflicting conditional operation is currently in progress against this resource."
	if e.Kind != nil || e.Error() != want {
		t.Errorf("kind %v, %q\nwant no kind, %q", e.Kind, e.Error(), want)
	}
	if !errors.As(e, new(smithy.APIError)) {
		t.Error("the SDK's error is not unwrapped")
	}
}
