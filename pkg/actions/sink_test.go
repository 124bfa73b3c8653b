package actions

import (
	"strings"
	"testing"
	"unicode"
)

// runnerLines splits output as the runner does: at "\r", "\n" and "\r\n".
func runnerLines(s string) []string {
	return splitLines(strings.TrimRight(s, "\r\n"))
}

// isCommand is the runner's test for a workflow command: "::" after leading
// white space, or "##[" anywhere in the line (the legacy syntax).
func isCommand(line string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") || strings.Contains(line, "##[")
}

func TestSinkLines(t *testing.T) {
	const secret = "s3cr3t-value"
	ghToken := "ghp_" + strings.Repeat("A1b2", 9)
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ24"
	tests := []struct {
		name, in string
		want     []string
	}{
		{"plain", "hello", []string{"hello"}},
		{"command after a line break", "500 Server Error\n::warning title=Injected::x", []string{"500 Server Error", `\::warning title=Injected::x`}},
		{"indented command", "a\n   ::error::x", []string{"a", `   \::error::x`}},
		{"tab and no-break space", "a\r\t\u00a0::stop-commands::t", []string{"a", "\t\u00a0\\::stop-commands::t"}},
		{"legacy anywhere", "see ##[warning]y and ##[error]z", []string{`see ##\[warning]y and ##\[error]z`}},
		{"colons inside a line stay", "a::b", []string{"a::b"}},
		{"known secret", "token " + secret + " refused", []string{"token *** refused"}},
		{"secret's lines", "x line2-of-secret y", []string{"x *** y"}},
		{"GitHub token never registered", "403 token Bearer " + ghToken + " lacks scope", []string{"403 token Bearer *** lacks scope"}},
		{"JWT", "got " + jwt, []string{"got ***"}},
	}
	s := &Sink{}
	s.AddSecret(secret)
	s.AddSecret("line1-of-secret\nline2-of-secret")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Lines(tt.in)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Lines(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, l := range got {
				if isCommand(l) {
					t.Errorf("line %q is a workflow command", l)
				}
			}
		})
	}
}

func TestSinkRedactsLongestSecretFirst(t *testing.T) {
	s := &Sink{}
	s.AddSecret("abc")
	s.AddSecret("abcdef")
	if got := s.Redact("x abcdef y abc"); got != "x *** y ***" {
		t.Errorf("Redact = %q", got)
	}
}
