package s3bucket

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in      string
		want    Location
		wantErr error
	}{
		{in: "s3://my-bucket", want: Location{Bucket: "my-bucket"}},
		{in: "s3://my-bucket/", want: Location{Bucket: "my-bucket"}},
		{in: "s3://my.bucket-1/cache", want: Location{Bucket: "my.bucket-1", Prefix: "cache"}},
		{in: "s3://b12/a/b/c/", want: Location{Bucket: "b12", Prefix: "a/b/c"}},
		{in: "s3://b12/nix-cache.v2/x_y", want: Location{Bucket: "b12", Prefix: "nix-cache.v2/x_y"}},
		{in: "s3://b12/" + strings.Repeat("p", maxPrefix), want: Location{Bucket: "b12", Prefix: strings.Repeat("p", maxPrefix)}},

		{in: "", wantErr: ErrNotS3URL},
		{in: "https://my-bucket.s3.amazonaws.com/x", wantErr: ErrNotS3URL},
		{in: "S3://my-bucket", wantErr: ErrNotS3URL},
		{in: "my-bucket/x", wantErr: ErrNotS3URL},
		{in: "s3://key:secret@my-bucket", wantErr: ErrNotS3URL},
		{in: "s3://my-bucket/x?region=eu-west-1", wantErr: ErrNotS3URL},
		{in: "s3://my-bucket/x#frag", wantErr: ErrNotS3URL},

		{in: "s3://", wantErr: ErrBucketName},
		{in: "s3:///prefix", wantErr: ErrBucketName},
		{in: "s3://ab", wantErr: ErrBucketName},
		{in: "s3://" + strings.Repeat("b", 64), wantErr: ErrBucketName},
		{in: "s3://My-Bucket", wantErr: ErrBucketName},
		{in: "s3://-bucket", wantErr: ErrBucketName},
		{in: "s3://bucket-", wantErr: ErrBucketName},
		{in: "s3://bu..cket", wantErr: ErrBucketName},
		{in: "s3://bu_cket", wantErr: ErrBucketName},
		{in: "s3://bucket:9000/x", wantErr: ErrBucketName},

		{in: "s3://bucket//x", wantErr: ErrPrefix},
		{in: "s3://bucket/a//b", wantErr: ErrPrefix},
		{in: "s3://bucket/a//", wantErr: ErrPrefix},
		{in: "s3://bucket/./a", wantErr: ErrPrefix},
		{in: "s3://bucket/a/../../other", wantErr: ErrPrefix},
		{in: "s3://bucket/a b", wantErr: ErrPrefix},
		{in: "s3://bucket/a\tb", wantErr: ErrPrefix},
		{in: "s3://bucket/a\x00b", wantErr: ErrPrefix},
		{in: "s3://bucket/a\\b", wantErr: ErrPrefix},
		{in: "s3://bucket/a\xffb", wantErr: ErrPrefix},
		{in: "s3://bucket/" + strings.Repeat("p", maxPrefix+1), wantErr: ErrPrefix},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLocation(tc.in)
			if tc.wantErr != nil {
				var le *LocationError
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &le) || le.URL != tc.in {
					t.Fatalf("ParseLocation(%q) = %+v, %v; want a *LocationError for it wrapping %v", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseLocation(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			// The canonical form parses back to the same place.
			if again, err := ParseLocation(got.String()); err != nil || again != got {
				t.Errorf("ParseLocation(%q.String() = %q) = %+v, %v", tc.in, got.String(), again, err)
			}
		})
	}
}

func TestLocationKeys(t *testing.T) {
	tests := []struct {
		loc            Location
		name, key, url string
		foreign        string // a key outside the prefix
	}{
		{Location{Bucket: "b12"}, "pins.json", "pins.json", "s3://b12/pins.json", ""},
		{Location{Bucket: "b12", Prefix: "site"}, "pins.json", "site/pins.json", "s3://b12/site/pins.json", "sitex/pins.json"},
		{Location{Bucket: "b12", Prefix: "a/b"}, "p/x.tar.gz", "a/b/p/x.tar.gz", "s3://b12/a/b/p/x.tar.gz", "a/bp/x.tar.gz"},
	}
	for _, tc := range tests {
		t.Run(tc.loc.String(), func(t *testing.T) {
			if got := tc.loc.Key(tc.name); got != tc.key {
				t.Errorf("Key(%q) = %q, want %q", tc.name, got, tc.key)
			}
			if got := tc.loc.URL(tc.name); got != tc.url {
				t.Errorf("URL(%q) = %q, want %q", tc.name, got, tc.url)
			}
			if got, ok := tc.loc.Name(tc.key); !ok || got != tc.name {
				t.Errorf("Name(%q) = %q, %v; want %q, true", tc.key, got, ok, tc.name)
			}
			if tc.foreign != "" {
				if got, ok := tc.loc.Name(tc.foreign); ok {
					t.Errorf("Name(%q) = %q, true; want it outside %s", tc.foreign, got, tc.loc)
				}
				if got, ok := tc.loc.Name(tc.loc.Prefix); ok {
					t.Errorf("Name(%q) = %q, true; the prefix itself names nothing under it", tc.loc.Prefix, got)
				}
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for _, n := range []string{"pins.json", "p/name.tar.gz", "index.html", "_headers", "a/b/c", "v1.7", "x%2Fy", "naïve"} {
		if err := validName(n); err != nil {
			t.Errorf("validName(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range []string{"", "/pins.json", "p/", "a//b", ".", "..", "../x", "a/./b", "a/../b", "a b", "a\nb", "a\\b", "\x7f", "a\xffb"} {
		if err := validName(n); !errors.Is(err, ErrName) {
			t.Errorf("validName(%q) = %v, want ErrName", n, err)
		}
	}
}
