package e2e

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "write the measured matrix into README.md")

var matrixSection = regexp.MustCompile(`(?s)(<!-- matrix:begin[^\n]*-->\n).*?(<!-- matrix:end -->)`)

// checkReadme keeps README.md's compatibility matrix what the suite measures.
// It compares only when the README's table has the same installations as this
// run (a run on other Nix versions measures another matrix).
func checkReadme(t *testing.T, md string) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := matrixSection.FindSubmatch(data)
	if m == nil {
		t.Fatal("README.md has no matrix section (<!-- matrix:begin … --> … <!-- matrix:end -->)")
	}
	want := string(m[1]) + md + string(m[2])
	if *updateReadme {
		data = matrixSection.ReplaceAll(data, []byte(strings.ReplaceAll(want, "$", "$$")))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if header(string(m[0])) != header(md) {
		t.Logf("README.md's matrix covers other installations (%q); not compared", header(string(m[0])))
		return
	}
	if string(m[0]) != want {
		t.Errorf("README.md's compatibility matrix differs from the one measured; run go test ./test/e2e -update-readme with the same installations (CPR_NIX)")
	}
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
