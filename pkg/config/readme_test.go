package config

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
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

var flagsSection = regexp.MustCompile(`(?s)(<!-- flags:begin[^\n]*-->\n).*?(<!-- flags:end -->)`)

func TestReadmeListsEveryFlag(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := flagsSection.FindSubmatch(data)
	if m == nil {
		t.Fatal("README.md has no flags section (<!-- flags:begin … --> … <!-- flags:end -->)")
	}
	want := string(m[1]) + flagsTable() + string(m[2])
	if *update {
		data = flagsSection.ReplaceAll(data, []byte(strings.ReplaceAll(want, "$", "$$")))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(m[0]) != want {
		t.Errorf("README.md's flags table is out of date; run go test ./pkg/config -update\nwant:\n%s", want)
	}
}
