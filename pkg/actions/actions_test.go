package actions

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/ghoutput"
)

func runner(t *testing.T) (*Runner, *strings.Builder, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "output")
	var log strings.Builder
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": out}
	return New(&log, func(k string) string { return env[k] }, &Sink{}), &log, out
}

// readOutputs parses GITHUB_OUTPUT as the runner does.
func readOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ghoutput.Parse(string(data))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return got
}

func TestSetOutputsCannotBeForged(t *testing.T) {
	r, _, file := runner(t)
	hostile := "x\n_GitHubActionsFileCommandDelimeter_\nchanged<<EOF\nforged\nEOF"
	if err := r.SetOutputs(map[string]string{"site-dir": hostile, "changed": "false"}); err != nil {
		t.Fatal(err)
	}
	got := readOutputs(t, file)
	if got["site-dir"] != hostile || got["changed"] != "false" || len(got) != 2 {
		t.Errorf("outputs read back as %q", got)
	}
	data, _ := os.ReadFile(file)
	delims := regexp.MustCompile(`<<(create-pin-refs-[0-9a-f]{32})\n`).FindAllStringSubmatch(string(data), -1)
	if len(delims) != 2 || delims[0][1] == delims[1][1] {
		t.Errorf("want a fresh random delimiter per output, got %q", delims)
	}
}

func TestOutsideTheRunnerNothingIsWritten(t *testing.T) {
	var log strings.Builder
	r := New(&log, func(string) string { return "" }, &Sink{})
	if err := r.SetOutputs(map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Summary("# x"); err != nil {
		t.Fatal(err)
	}
}

func TestLogLinesCannotStartCommands(t *testing.T) {
	r, log, _ := runner(t)
	r.Logf("API said: %s", "nope\n::add-mask::x\r::error::fake\r\n::group::g\n ##[warning]w")
	r.Errorf("API said: %s", "nope\n  ::warning::x ##[warning]y")
	r.Group("a\n::error::g")
	for _, line := range runnerLines(log.String()) {
		if isCommand(line) && !strings.HasPrefix(line, "::error title=create-pin-refs failed::API said") && line != `::group::a \::error::g` {
			t.Errorf("log line %q is a workflow command", line)
		}
		if strings.Contains(line, "##[") {
			t.Errorf("log line %q holds a legacy command", line)
		}
	}
}

func TestMaskAndAnnotations(t *testing.T) {
	r, log, _ := runner(t)
	r.Mask("tok\r\nen2")
	r.Errorf("bad %s", "thing\nhere")
	want := "::add-mask::tok\n::add-mask::en2\n::error title=create-pin-refs failed::bad thing%0Ahere\n"
	if log.String() != want {
		t.Errorf("got %q, want %q", log.String(), want)
	}
}
