// Package ghoutput reads the files of GitHub Actions' file commands as the
// runner does, for tests of what a step leaves in them.
package ghoutput

import (
	"bufio"
	"fmt"
	"strings"
)

// Parse reads a GITHUB_OUTPUT file as the runner does: NAME=VALUE
// lines and NAME<<DELIMITER heredocs, empty lines skipped, a later value
// replacing an earlier one.
func Parse(data string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (heredoc < 0 || eq < heredoc):
			if eq == 0 {
				return nil, fmt.Errorf("line %q: empty name", line)
			}
			out[line[:eq]] = line[eq+1:]
		case heredoc > 0:
			name, delim := line[:heredoc], line[heredoc+2:]
			if delim == "" {
				return nil, fmt.Errorf("line %q: empty delimiter", line)
			}
			var value []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				value = append(value, sc.Text())
			}
			if !closed {
				return nil, fmt.Errorf("output %s: matching delimiter %q not found", name, delim)
			}
			out[name] = strings.Join(value, "\n")
		default:
			return nil, fmt.Errorf("line %q: neither NAME=VALUE nor NAME<<DELIMITER", line)
		}
	}
	return out, sc.Err()
}
