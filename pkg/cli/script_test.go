package cli

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts under testdata/script run the program in-process as
// the command create-pin-refs.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"create-pin-refs": func() {
			os.Exit(Main(context.Background(), os.Args[1:], Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr, Version: "script"}))
		},
	})
}

// TestScripts runs the command-line scenarios, one .txtar file each.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}
