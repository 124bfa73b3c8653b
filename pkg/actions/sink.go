package actions

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Redacted replaces a secret in printed text.
const Redacted = "***"

// tokenPattern matches strings shaped like GitHub tokens (ghp_…, gho_…, ghu_…,
// ghs_…, ghr_…, github_pat_…) and JWTs, as Cachix tokens are: a token the run
// was never told about (pasted into the wrong flag, echoed by a server) is
// hidden all the same.
var tokenPattern = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+)`)

// LooksLikeToken reports whether s holds something shaped like a token.
func LooksLikeToken(s string) bool { return tokenPattern.MatchString(s) }

// Sink is the one place text passes through on its way to a log line, inside
// Actions or not: every known secret and everything shaped like a token is
// redacted, and no line can become a workflow command. The runner takes a line
// as a command when it starts with "::" after any white space, or (legacy
// syntax) when it holds "##[" anywhere; it breaks lines at "\r" as well as
// "\n". A Sink is safe for concurrent use.
type Sink struct {
	mu      sync.Mutex
	secrets []string // longest first, so that no secret is cut by a shorter one
}

// AddSecret makes every later line hide value, and each of its lines.
func (s *Sink) AddSecret(value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range append([]string{value}, splitLines(value)...) {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(s.secrets, v) {
			s.secrets = append(s.secrets, v)
		}
	}
	slices.SortFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })
}

// Redact hides the secrets of text, which keeps its lines (a job summary).
func (s *Sink) Redact(text string) string {
	s.mu.Lock()
	secrets := s.secrets
	s.mu.Unlock()
	for _, v := range secrets {
		text = strings.ReplaceAll(text, v, Redacted)
	}
	return tokenPattern.ReplaceAllString(text, Redacted)
}

// Lines redacts text and returns its lines, none of them a workflow command.
func (s *Sink) Lines(text string) []string {
	lines := splitLines(s.Redact(text))
	for i, l := range lines {
		lines[i] = Neutralise(l)
	}
	return lines
}

// Line is text redacted and neutralised as a single line: line breaks become
// spaces.
func (s *Sink) Line(text string) string {
	return strings.Join(s.Lines(text), " ")
}

// Neutralise makes one line (without line breaks) harmless to the runner's
// command parser: a "::" that starts the line after white space becomes
// "\::", and every "##[" becomes "##\[".
func Neutralise(line string) string {
	line = strings.ReplaceAll(line, "##[", `##\[`)
	rest := strings.TrimLeftFunc(line, unicode.IsSpace)
	if strings.HasPrefix(rest, "::") {
		line = line[:len(line)-len(rest)] + `\` + rest
	}
	return line
}

func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n")
}
