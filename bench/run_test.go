package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/cli"
)

// BenchmarkRun runs the program in-process against the loopback server, for
// profiles (-cpuprofile) of a whole run; `go run ./bench` measures processes.
func BenchmarkRun(b *testing.B) {
	for _, mode := range []string{"dir", "pages"} {
		for _, n := range []int{1000, 10000, 100000} {
			b.Run(mode+"/N="+strconv.Itoa(n), func(b *testing.B) {
				srv, err := startPinServer(pinset.Synthetic(n), serverOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer srv.Close()
				out := filepath.Join(b.TempDir(), "site")
				env := cli.Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: io.Discard, Version: "bench"}
				args := []string{"--cache", cacheName, "--cachix-url", srv.url, "--out", out, "--mode", mode, "--pages-url", srv.siteURL, "--verify", "off"}
				b.ReportAllocs()
				for b.Loop() {
					if err := os.RemoveAll(out); err != nil {
						b.Fatal(err)
					}
					if code := cli.Main(context.Background(), args, env); code != 0 {
						b.Fatalf("exit code %d", code)
					}
				}
			})
		}
	}
}
