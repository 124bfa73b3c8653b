package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"

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
	// Phases may log from several goroutines (the cache's description and
	// its pins are read at once): each write is whole, in turn.
	mu := &sync.Mutex{}
	stdout, stderr := &lockedWriter{mu, env.Stdout}, &lockedWriter{mu, env.Stderr}
	if actions.Detect(env.Getenv) {
		return actions.New(stdout, env.Getenv, sink), sink
	}
	return plain{stderr, sink}, sink
}

// lockedWriter writes to w holding mu, which the program's writers share.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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
