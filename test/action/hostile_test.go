package action_test

import (
	"strings"
	"sync"
	"testing"
	"unicode"
)

// ourCommands are the workflow commands the program itself prints; any other
// line the runner would take as a command was forged by text from outside.
var ourCommands = []string{"::add-mask::", "::group::", "::endgroup::", "::error title=create-pin-refs failed::", "::warning title=create-pin-refs::"}

// forgedCommands are the lines of s that the runner takes as workflow
// commands ("::" after leading white space, or the legacy "##[" anywhere) and
// that the program did not mean as one.
func forgedCommands(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		trimmed := strings.TrimLeftFunc(l, unicode.IsSpace)
		ours := trimmed == l && !strings.Contains(l, "##[")
		if ours {
			ours = false
			for _, c := range ourCommands {
				ours = ours || strings.HasPrefix(l, c)
			}
		}
		if (strings.HasPrefix(trimmed, "::") || strings.Contains(l, "##[")) && !ours {
			out = append(out, l)
		}
	}
	return out
}

// TestRunnerServerTextCannotCommand: GitHub's error message reaches the retry
// log and the final ::error line; whatever it holds, it can neither start a
// workflow command (a "::" line, indented or not, or "##[" anywhere) nor show
// a token, the one the run was given or any other shaped like one.
func TestRunnerServerTextCannotCommand(t *testing.T) {
	f := startFakes(t)
	r := f.runner(t)
	foreign := "ghp_" + strings.Repeat("Zz9", 12)
	hostile := "Server Error\n::warning title=Injected::x\r\n   ::error title=Injected::y\nsee ##[warning]z; token Bearer " + foreign + " or " + f.githubToken.value + " lacks scope"
	var mu sync.Mutex
	requests := 0
	f.github.OnRequest(func(string, string) {
		mu.Lock()
		defer mu.Unlock()
		switch requests++; requests {
		case 1: // retried: the message reaches the retry log
			f.github.FailNextWith(1, 500, hostile)
		case 2: // final: the message reaches the ::error line
			f.github.FailNextWith(1, 403, hostile)
		}
	})
	res := r.run(f.with(map[string]string{"mode": "branch"}))
	defer logStep(t, "run against a hostile GitHub", res)
	if res.code != 1 {
		t.Errorf("exit code %d, want 1", res.code)
	}
	if requests < 2 {
		t.Fatalf("GitHub saw %d requests, want the failing two", requests)
	}
	if !strings.Contains(res.stdout, "Injected") {
		t.Fatalf("the server's message never reached the log, so this test checks nothing:\n%s", res.stdout)
	}
	if len(errorLines(res.stdout)) == 0 {
		t.Error("no ::error line")
	}
	for where, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "the job summary": res.summary} {
		if forged := forgedCommands(text); len(forged) > 0 {
			t.Errorf("%s holds workflow commands forged by the server's text: %q", where, forged)
		}
		if strings.Contains(text, foreign) {
			t.Errorf("%s shows the token the server echoed", where)
		}
	}
	checkMasking(t, res, f.secrets())
}

// TestRunnerTokenGivenAsAnotherInput: a token pasted into the wrong input is
// refused without being shown, whether or not it is also the run's token.
func TestRunnerTokenGivenAsAnotherInput(t *testing.T) {
	f := startFakes(t)
	r := f.runner(t)
	foreign := "ghp_" + strings.Repeat("Qq7", 12)
	for _, v := range []string{foreign, f.githubToken.value} {
		res := r.run(f.with(map[string]string{"mode": v, "allow-empty": v}))
		defer logStep(t, "run with a token as mode", res)
		if res.code != 2 {
			t.Errorf("exit code %d, want 2", res.code)
		}
		for where, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr} {
			if strings.Contains(strings.ReplaceAll(text, "::add-mask::"+f.githubToken.value, ""), v) {
				t.Errorf("%s shows the token given as an input", where)
			}
		}
		checkMasking(t, res, f.secrets())
	}
}
