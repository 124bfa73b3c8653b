package weburl

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"https://app.cachix.org", nil},
		{"http://127.0.0.1:8080/prefix/", nil},
		{"https://ghe.example.com/api/v3", nil},
		{"app.cachix.org", ErrNotHTTP},
		{"s3://bucket", ErrNotHTTP},
		{"https:opaque", ErrNotHTTP},
		{"https://u:s3cret@c.cachix.org", ErrCredentials},
		{"https://x.org/?a", ErrQuery},
		{"https://x.org/?", ErrQuery},
		{"https://x.org/#", ErrQuery},
		{"https://x.org/a b", ErrSyntax},
		{"https://x.org/\n", ErrSyntax},
		{"http://[::1", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
