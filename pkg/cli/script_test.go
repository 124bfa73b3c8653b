package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kwbauson/create-pin-refs/pkg/buildinfo"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

// TestMain lets the scripts under testdata/script run the program in-process as
// the command create-pin-refs.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"create-pin-refs": func() {
			os.Exit(Main(context.Background(), os.Args[1:], Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr, Version: "script", VersionLine: buildinfo.Read("script", "").String()}))
		},
	})
}

// TestScripts runs the command-line scenarios, one .txtar file each. Each
// script has its own local Cachix at $CACHIX_URL, holding the cache "demo":
// public, writable with the token "script-token", with the pins of the
// script's file demo-pins.json and the binary cache of its folder demo-cache,
// if it has them.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script", Setup: func(e *testscript.Env) error {
		cache := fakecachix.Cache{Name: "demo"}
		if dir := filepath.Join(e.WorkDir, "demo-cache"); exists(dir) {
			cache.Dir = dir
		}
		if file := filepath.Join(e.WorkDir, "demo-pins.json"); exists(file) {
			raw, err := cachix.ReadPinsFile(file)
			if err != nil {
				return err
			}
			cache.Pins = raw
		}
		srv, err := fakecachix.New(fakecachix.Options{Caches: []fakecachix.Cache{cache}})
		if err != nil {
			return err
		}
		srv.SetWriteToken("script-token")
		e.Defer(srv.Close)
		e.Setenv("CACHIX_URL", srv.URL())
		return nil
	}})
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
