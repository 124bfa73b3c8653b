package cli

import (
	"fmt"
	"io"

	"github.com/kwbauson/create-pin-refs/pkg/actions"
	"github.com/kwbauson/create-pin-refs/pkg/config"
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

func newReporter(env Env) reporter {
	if actions.Detect(env.Getenv) {
		return actions.New(env.Stdout, env.Getenv)
	}
	return plain{env.Stderr}
}

// maskSecrets masks every secret option's value as found in the environment,
// before any line is printed; flags are masked once parsed. It returns what it
// masked.
func maskSecrets(rep reporter, getenv func(string) string) map[string]bool {
	masked := map[string]bool{}
	for _, o := range config.Options() {
		if !o.Secret {
			continue
		}
		for _, key := range []string{config.InputEnv(o.Name), o.Env} {
			if key != "" {
				if v := getenv(key); v != "" && !masked[v] {
					rep.Mask(v)
					masked[v] = true
				}
			}
		}
	}
	return masked
}

type plain struct{ w io.Writer }

func (plain) Mask(string)                        {}
func (p plain) Group(title string)               { fmt.Fprintf(p.w, "== %s\n", title) }
func (plain) EndGroup()                          {}
func (p plain) Logf(format string, args ...any)  { fmt.Fprintf(p.w, format+"\n", args...) }
func (p plain) Warnf(format string, args ...any) { fmt.Fprintf(p.w, "warning: "+format+"\n", args...) }
func (p plain) Errorf(format string, args ...any) {
	fmt.Fprintf(p.w, "create-pin-refs: error: "+format+"\n", args...)
}
func (plain) SetOutputs(map[string]string) error { return nil }
func (plain) Summary(string) error               { return nil }
