package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/actions"
)

// reporter is where progress, warnings, errors and results go: plain lines on
// stderr for a terminal or another CI, workflow commands inside GitHub Actions.
type reporter interface {
	Mask(secret string)
	Group(title string)
	EndGroup()
	Logf(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
	SetOutputs(map[string]string) error
	Summary(markdown string) error
}

// newReporter returns the reporter for env. Both kinds print every text
// through one actions.Sink, which redacts secrets and neutralises workflow
// commands: outside the action, the program may still run in a workflow's
// `run:` step, whose output the runner parses the same way.
func newReporter(env Env) (reporter, *actions.Sink) {
	sink := &actions.Sink{}
	if actions.Detect(env.Getenv) {
		return actions.New(env.Stdout, env.Getenv, sink), sink
	}
	return plain{env.Stderr, sink}, sink
}

// plain prints lines on a terminal or another CI.
type plain struct {
	w    io.Writer
	sink *actions.Sink
}

func (p plain) Mask(secret string)                { p.sink.AddSecret(secret) }
func (p plain) Group(title string)                { fmt.Fprintf(p.w, "== %s\n", p.sink.Line(title)) }
func (plain) EndGroup()                           {}
func (p plain) Logf(format string, args ...any)   { p.print("", format, args) }
func (p plain) Warnf(format string, args ...any)  { p.print("warning: ", format, args) }
func (p plain) Errorf(format string, args ...any) { p.print("create-pin-refs: error: ", format, args) }
func (plain) SetOutputs(map[string]string) error  { return nil }
func (plain) Summary(string) error                { return nil }

func (p plain) print(prefix, format string, args []any) {
	fmt.Fprintln(p.w, prefix+strings.Join(p.sink.Lines(fmt.Sprintf(format, args...)), "\n  "))
}
