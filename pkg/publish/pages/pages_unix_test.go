//go:build unix

package pages

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteArtifactSpecialFiles(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, p string)
		want string
	}{
		{
			name: "named pipe",
			make: func(t *testing.T, p string) {
				if err := syscall.Mkfifo(p, 0o644); err != nil {
					t.Skip("mkfifo:", err)
				}
			},
			want: `"bundle/thing": a named pipe, but Pages deploys regular files and folders only`,
		},
		{
			name: "socket",
			make: func(t *testing.T, p string) {
				l, err := net.Listen("unix", p)
				if err != nil {
					t.Skip("unix socket:", err)
				}
				t.Cleanup(func() { l.Close() })
			},
			want: `"bundle/thing": a socket`,
		},
		{
			name: "link to a named pipe",
			make: func(t *testing.T, p string) {
				fifo := filepath.Join(filepath.Dir(p), "fifo")
				if err := syscall.Mkfifo(fifo, 0o644); err != nil {
					t.Skip("mkfifo:", err)
				}
				if err := os.Rename(fifo, filepath.Join(filepath.Dir(p), "..", "zz-fifo")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("../zz-fifo", p); err != nil {
					t.Fatal(err)
				}
			},
			want: `"bundle/thing": a named pipe`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Short paths: socket names are limited to about 100 bytes.
			root, err := os.MkdirTemp("", "site")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(root) })
			write(t, root, siteFiles...)
			tt.make(t, filepath.Join(root, "bundle", "thing"))
			_, err = WriteArtifact(context.Background(), root, filepath.Join(t.TempDir(), "a.tar"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
