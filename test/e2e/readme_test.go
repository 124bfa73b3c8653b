package e2e

import (
	"flag"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/docs"
)

var updateReadme = flag.Bool("update-readme", false, "write the measured matrix into README.md")

// checkReadme keeps README.md's compatibility matrix what the suite measures.
// It compares only when the README's table has the same installations as this
// run (a run on other Nix versions measures another matrix).
func checkReadme(t *testing.T, md string) {
	const path = "../../README.md"
	if have := header(docs.Section(t, path, "matrix")); have != header(md) && !*updateReadme {
		t.Logf("README.md's matrix covers other installations (%q); not compared", have)
		return
	}
	docs.Check(t, path, "matrix", md, *updateReadme,
		"run go test ./test/e2e -update-readme with the same installations (CPR_NIX)")
}

// header is the first table line: the installations measured.
func header(md string) string {
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| command |") {
			return line
		}
	}
	return ""
}
