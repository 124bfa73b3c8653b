package cli

import (
	"errors"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/kept"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// TestEarlierFiles: what a site was made on, for the publisher: pins.json
// read whole, or found missing (nil), and nothing for one that could not
// be read.
func TestEarlierFiles(t *testing.T) {
	missing := &kept.NoSiteError{Site: "s3://b/p", Err: alsoIs{errors.New("404 NoSuchKey"), kept.ErrNotFound}}
	for _, tt := range []struct {
		name string
		read *kept.Earlier
		want []byte
		held bool
	}{
		{"read whole", &kept.Earlier{Data: []byte(`{"format":2}`), Limit: kept.DefaultLimits.Whole}, []byte(`{"format":2}`), true},
		{"missing", &kept.Earlier{Err: missing}, nil, true},
		{"unreadable", &kept.Earlier{Err: &kept.NoSiteError{Site: "s3://b/p", Err: errors.New("connection refused")}}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := (&earlierSite{read: tt.read}).files()
			got, held := files[site.Manifest]
			if held != tt.held || string(got) != string(tt.want) {
				t.Errorf("files()[%s] = %q, %v; want %q, %v", site.Manifest, got, held, tt.want, tt.held)
			}
		})
	}
}
