package s3server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
