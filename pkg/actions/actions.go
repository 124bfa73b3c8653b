// Package actions talks to the GitHub Actions runner: it masks secrets, groups log
// lines, turns errors into annotations and writes step outputs and the job summary.
// Outside Actions none of this is used, so no file command is ever touched there.
package actions

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Detect reports whether the process runs as a GitHub Actions step.
func Detect(getenv func(string) string) bool { return getenv("GITHUB_ACTIONS") == "true" }

// Runner reports through workflow commands on w and the runner's files. Every
// text it prints passes through its Sink.
type Runner struct {
	a      *githubactions.Action
	w      io.Writer
	getenv func(string) string
	sink   *Sink
}

// New returns a Runner writing workflow commands to w (the step's stdout),
// with text cleaned by sink.
func New(w io.Writer, getenv func(string) string, sink *Sink) *Runner {
	return &Runner{
		a:      githubactions.New(githubactions.WithWriter(w), githubactions.WithGetenv(getenv)),
		w:      w,
		getenv: getenv,
		sink:   sink,
	}
}

// Mask hides every occurrence of secret in the rest of the log, through the
// runner and through the sink. Call it before anything could print the secret.
func (r *Runner) Mask(secret string) {
	r.sink.AddSecret(secret)
	for _, line := range splitLines(secret) {
		if strings.TrimSpace(line) != "" {
			r.a.AddMask(line)
		}
	}
}

// Group starts a collapsible group of log lines.
func (r *Runner) Group(title string) { r.a.Group(r.sink.Line(title)) }

// EndGroup ends the current group.
func (r *Runner) EndGroup() { r.a.EndGroup() }

// Logf prints a log line; continuation lines are indented.
func (r *Runner) Logf(format string, args ...any) {
	fmt.Fprintln(r.w, strings.Join(r.sink.Lines(fmt.Sprintf(format, args...)), "\n  "))
}

// Warnf prints a warning annotation.
func (r *Runner) Warnf(format string, args ...any) {
	r.a.WithFieldsMap(map[string]string{"title": "create-pin-refs"}).Warningf("%s", r.annotation(format, args))
}

// Errorf prints an error annotation.
func (r *Runner) Errorf(format string, args ...any) {
	r.a.WithFieldsMap(map[string]string{"title": "create-pin-refs failed"}).Errorf("%s", r.annotation(format, args))
}

// annotation is a message cleaned line by line; the command escapes the line
// breaks itself.
func (r *Runner) annotation(format string, args []any) string {
	return strings.Join(r.sink.Lines(fmt.Sprintf(format, args...)), "\n")
}

// SetOutputs writes step outputs, in name order, when the runner provides
// GITHUB_OUTPUT. Each value gets a random delimiter that it does not contain, so
// no value (a path chosen by the workflow, say) can end early and forge another
// output.
func (r *Runner) SetOutputs(outputs map[string]string) error {
	file := r.getenv("GITHUB_OUTPUT")
	if file == "" {
		return nil
	}
	names := make([]string, 0, len(outputs))
	for k := range outputs {
		names = append(names, k)
	}
	slices.Sort(names)
	var buf strings.Builder
	for _, k := range names {
		v := outputs[k]
		delim, err := delimiter(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "%s<<%s\n%s\n%s\n", k, delim, v, delim)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing step outputs: %w", err)
	}
	if _, err := f.WriteString(buf.String()); err != nil {
		f.Close()
		return fmt.Errorf("writing step outputs: %w", err)
	}
	return f.Close()
}

func delimiter(value string) (string, error) {
	for range 8 {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		d := "create-pin-refs-" + hex.EncodeToString(b[:])
		if !strings.Contains(value, d) {
			return d, nil
		}
	}
	return "", errors.New("writing step outputs: no delimiter found that the value does not contain")
}

// Summary appends Markdown to the job summary when the runner provides
// GITHUB_STEP_SUMMARY.
func (r *Runner) Summary(markdown string) error {
	if r.getenv("GITHUB_STEP_SUMMARY") == "" {
		return nil
	}
	return r.call(func() { r.a.AddStepSummary(r.sink.Redact(markdown)) })
}

// call turns the library's panics on unwritable files into errors.
func (r *Runner) call(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("writing to the runner's files: %v", p)
		}
	}()
	f()
	return nil
}
