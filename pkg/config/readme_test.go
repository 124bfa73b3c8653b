package config

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/docs"
)

var update = flag.Bool("update", false, "rewrite the flags table in README.md")

// flagsTable is the README's table of flags, made from Options.
func flagsTable() string {
	var sb strings.Builder
	sb.WriteString("| flag | default | meaning |\n|---|---|---|\n")
	for _, o := range Options() {
		var defs []string
		if o.Env != "" {
			defs = append(defs, "`$"+o.Env+"`")
		}
		if o.Default != "" {
			defs = append(defs, "`"+o.Default+"`")
		}
		def := strings.Join(defs, ", else ")
		usage := strings.NewReplacer("`", "", "<", "&lt;", ">", "&gt;").Replace(o.Usage)
		if o.List {
			usage += "; repeatable, comma or newline separated"
		}
		fmt.Fprintf(&sb, "| `--%s` | %s | %s |\n", o.Name, def, strings.ReplaceAll(usage, "|", `\\|`))
	}
	return sb.String()
}

func TestReadmeListsEveryFlag(t *testing.T) {
	docs.Check(t, "../../README.md", "flags", flagsTable(), *update, "run go test ./pkg/config -update")
}
