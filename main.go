// Command create-pin-refs publishes a Cachix cache's pins as a Nix bundle that
// evaluates in milliseconds. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kwbauson/create-pin-refs/pkg/buildinfo"
	"github.com/kwbauson/create-pin-refs/pkg/cli"
)

// The image's build stamps these with -ldflags "-X main.version=… -X
// main.revision=…": it builds without .git, so Go records neither. Empty,
// the module version and the commit Go recorded are used.
var version, revision string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	build := buildinfo.Read(version, revision)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr, Version: build.Version, VersionLine: build.String()})
	stop()
	os.Exit(code)
}
