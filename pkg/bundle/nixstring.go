package bundle

import "strings"

// NixString quotes s as a Nix string literal that evaluates to exactly s. It is the
// only way data enters Nix code; the fuzz test checks it against a real Nix parser.
func NixString(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + 2)
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '$':
			// "${" starts an antiquotation; "$${" does not, but escaping every
			// dollar keeps the rule simple.
			sb.WriteString(`\$`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
