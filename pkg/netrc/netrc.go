// Package netrc reads a netrc file as curl does for Nix (Nix's `netrc-file`
// setting): `machine HOST login L password P` gives HTTP basic auth for HOST.
//
// Tokens are separated by blanks and line breaks; a token may be a double
// quoted string with \" \\ \n \r \t escapes; a token starting with # begins
// a comment to the end of its line; `macdef NAME` skips the macro up to the
// next empty line; `account` is read and not used; other words are skipped,
// as curl skips them. Errors name the line and the keyword, never a value:
// the file holds secrets.
package netrc

import (
	"fmt"
	"os"
	"strings"
)

// Entry is one machine (or the default entry) of a netrc file.
type Entry struct {
	Machine  string // lower case; "" for the default entry
	Default  bool
	Login    string
	Password string
	Account  string
}

// File is a parsed netrc file.
type File struct {
	Entries []Entry
}

// maxSize bounds a netrc file: real ones are a few lines.
const maxSize = 1 << 20

// SyntaxError is a netrc file that cannot be read. It names the line and the
// keyword, never a value.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Read parses the netrc file at path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes; a netrc file is a few lines", path, maxSize)
	}
	f, err := Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Machine is the first entry for host (any case), as curl picks it. The
// default entry is never returned: its credentials would go to every host,
// the upstream caches included.
func (f *File) Machine(host string) (Entry, bool) {
	if f == nil {
		return Entry{}, false
	}
	host = strings.ToLower(host)
	for _, e := range f.Entries {
		if !e.Default && e.Machine == host {
			return e, true
		}
	}
	return Entry{}, false
}

// Passwords lists every password and account of the file, for masking.
func (f *File) Passwords() []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, e := range f.Entries {
		for _, s := range []string{e.Password, e.Account} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// Parse reads the text of a netrc file.
func Parse(text string) (*File, error) {
	s := &scanner{text: text, line: 1}
	f := &File{}
	cur := -1 // the entry login, password and account belong to
	for {
		tok, line, ok, err := s.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return f, nil
		}
		switch tok {
		case "machine", "login", "password", "account", "macdef":
			value, _, ok, err := s.next()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, &SyntaxError{Line: line, Msg: tok + " has no value"}
			}
			switch tok {
			case "machine":
				f.Entries = append(f.Entries, Entry{Machine: strings.ToLower(value)})
				cur = len(f.Entries) - 1
			case "macdef":
				s.skipMacro()
			case "login", "password", "account":
				if cur < 0 {
					continue // curl skips them outside an entry, and so Nix does
				}
				e := &f.Entries[cur]
				switch tok {
				case "login":
					e.Login = value
				case "password":
					e.Password = value
				default:
					e.Account = value
				}
			}
		case "default":
			f.Entries = append(f.Entries, Entry{Default: true})
			cur = len(f.Entries) - 1
		}
	}
}

// scanner splits a netrc file into tokens.
type scanner struct {
	text string
	pos  int
	line int
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' }

// next returns the next token and its line; ok is false at the end.
func (s *scanner) next() (tok string, line int, ok bool, err error) {
	for s.pos < len(s.text) {
		c := s.text[s.pos]
		switch {
		case c == '\n':
			s.line++
			s.pos++
		case isBlank(c):
			s.pos++
		case c == '#':
			for s.pos < len(s.text) && s.text[s.pos] != '\n' {
				s.pos++
			}
		case c == '"':
			tok, err := s.quoted()
			return tok, s.line, err == nil, err
		default:
			start := s.pos
			for s.pos < len(s.text) && !isBlank(s.text[s.pos]) && s.text[s.pos] != '\n' {
				s.pos++
			}
			return s.text[start:s.pos], s.line, true, nil
		}
	}
	return "", s.line, false, nil
}

// quoted reads a double-quoted token, from its opening quote.
func (s *scanner) quoted() (string, error) {
	line := s.line
	var b strings.Builder
	for s.pos++; s.pos < len(s.text); s.pos++ {
		c := s.text[s.pos]
		switch {
		case c == '"':
			s.pos++
			return b.String(), nil
		case c == '\n':
			return "", &SyntaxError{Line: line, Msg: "a quoted value is not closed on its line"}
		case c == '\\' && s.pos+1 < len(s.text) && s.text[s.pos+1] != '\n':
			s.pos++
			b.WriteByte(unescape(s.text[s.pos]))
		default:
			b.WriteByte(c)
		}
	}
	return "", &SyntaxError{Line: line, Msg: "a quoted value is not closed on its line"}
}

// unescape is the byte that \c stands for in a quoted value, as in curl.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c
}

// skipMacro skips a macdef's body: the rest of its line and the lines up to
// the first empty one.
func (s *scanner) skipMacro() {
	for s.pos < len(s.text) {
		i := strings.IndexByte(s.text[s.pos:], '\n')
		if i < 0 {
			s.pos = len(s.text)
			return
		}
		s.pos += i + 1
		s.line++
		if s.pos >= len(s.text) || s.text[s.pos] == '\n' {
			return
		}
	}
}
