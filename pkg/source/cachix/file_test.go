package cachix_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadPinsFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []cachix.Pin
		wantErr []string
	}{
		{name: "api answer", content: pinsJSON, want: wantPins},
		{name: "byte order mark", content: "\xef\xbb\xbf" + pinsJSON, want: wantPins},
		{name: "empty list", content: " []\n", want: []cachix.Pin{}},
		{name: "empty file", content: "", wantErr: []string{"empty, expected a JSON array of pins"}},
		{name: "error object", content: `{"error": "Unauthorized."}`, wantErr: []string{"got an error object: Unauthorized."}},
		{name: "other object", content: `{"pins": []}`, wantErr: []string{"expected a JSON array of pins, got an object"}},
		{name: "syntax error", content: "[\n  {\"name\": \"a\",,}\n]", wantErr: []string{"invalid JSON at line 2, column 16", "invalid character ','"}},
		{name: "truncated", content: pinsJSON[:50], wantErr: []string{"truncated JSON (50 bytes)"}},
		{name: "wrong type", content: "[{\"name\": \"a\", \"lastRevision\": {\"revision\": \"3\"}}]", wantErr: []string{`pin "a" (.[0] in the list, line 1, column 45): lastRevision.revision is the string "3", expected an integer`, "correct it in the file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "pins.json", tt.content)
			got, err := cachix.ReadPinsFile(path)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("pins (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %v, want an error", got)
			}
			for _, want := range append(tt.wantErr, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestReadPinsFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.json")
	_, err := cachix.ReadPinsFile(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, want a not-exist error naming %s", err, path)
	}
}

func TestReadPinsFileTooLarge(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: large to the reader, cheap on disk.
	if err := f.Truncate(cachix.DefaultMaxBodySize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = cachix.ReadPinsFile(f.Name())
	if !errors.Is(err, cachix.ErrTooLarge) || !strings.Contains(err.Error(), f.Name()) {
		t.Fatalf("error = %v, want ErrTooLarge naming the file", err)
	}
}

func TestReadCacheInfoFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    *cachix.CacheInfo
		wantErr string
	}{
		{
			name:    "api answer",
			content: `{"name":"demo","uri":"https://demo.cachix.org","isPublic":false,"publicSigningKeys":["k:1"],"extra":null}`,
			want:    &cachix.CacheInfo{Name: "demo", URI: "https://demo.cachix.org", PublicSigningKeys: []string{"k:1"}},
		},
		{name: "error object", content: `{"error":"Cache not found"}`, wantErr: "got an error object: Cache not found"},
		{name: "empty object", content: `{}`, wantErr: "without name or uri"},
		{name: "array", content: `[]`, wantErr: "got an array"},
		{name: "syntax error", content: `{"name": }`, wantErr: "line 1, column 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "cache.json", tt.content)
			got, err := cachix.ReadCacheInfoFile(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("cache info (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error = %v, want one naming %s and containing %q", err, path, tt.wantErr)
			}
		})
	}
}
