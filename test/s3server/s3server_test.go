package s3server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// The helper's promise: a bucket it creates holds objects, and after
// AllowAnonymousRead a plain GET without credentials reads them.
func TestAnonymousRead(t *testing.T) {
	srv := s3server.Start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		public bool
		want   int
	}{
		{"private", false, http.StatusForbidden},
		{"public", true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := "b-" + tc.name
			srv.CreateBucket(t, bucket)
			if tc.public {
				srv.AllowAnonymousRead(t, bucket)
			}
			if _, err := srv.Client().PutObject(ctx, &s3.PutObjectInput{
				Bucket: &bucket, Key: aws.String("dir/hello.txt"),
				Body: strings.NewReader("hello"), ContentType: aws.String("text/plain"),
			}); err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(srv.ObjectURL(bucket, "dir/hello.txt"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("GET: status %d, want %d; body %s", resp.StatusCode, tc.want, body)
			}
			if tc.want == http.StatusOK && string(body) != "hello" {
				t.Errorf("GET: body %q, want %q", body, "hello")
			}
		})
	}
}

// A user CreateUser adds is bound by the bucket policy, where root is not.
func TestCreateUser(t *testing.T) {
	srv := s3server.Start(t)
	ctx := context.Background()
	srv.CreateBucket(t, "b-user")
	access, secret := srv.CreateUser(t)
	user := s3.New(s3.Options{
		Region: s3server.Region, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, ""),
	})
	list := func() error {
		_, err := user.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("b-user")})
		return err
	}
	var ae smithy.APIError
	if err := list(); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatalf("listing without a policy: %v, want AccessDenied", err)
	}
	srv.SetPolicy(t, "b-user", map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect": "Allow", "Principal": map[string]any{"AWS": []string{access}},
			"Action": []string{"s3:ListBucket"}, "Resource": []string{"arn:aws:s3:::b-user"},
		}},
	})
	if err := list(); err != nil {
		t.Fatalf("listing with a policy allowing it: %v", err)
	}
}
