// Package docs keeps generated sections of the project's Markdown in step with
// what produces them: a test renders a section and compares it with the file, or
// rewrites it when asked to. A section lies between the lines
// <!-- NAME:begin … --> and <!-- NAME:end -->.
package docs

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func pattern(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)(<!-- ` + regexp.QuoteMeta(name) + `:begin[^\n]*-->\n)(.*?)(<!-- ` + regexp.QuoteMeta(name) + `:end -->)`)
}

// Section returns the current content of section name in the file at path.
func Section(t testing.TB, path, name string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := pattern(name).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s has no section %q (<!-- %s:begin … --> … <!-- %s:end -->)", path, name, name, name)
	}
	return string(m[2])
}

// Check fails the test when section name of the file at path is not content;
// with update it rewrites the section instead. how says how to update.
func Check(t testing.TB, path, name, content string, update bool, how string) {
	t.Helper()
	if Section(t, path, name) == content {
		return
	}
	if !update {
		t.Errorf("%s: section %q is out of date; %s", path, name, how)
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = pattern(name).ReplaceAll(data, []byte("${1}"+strings.ReplaceAll(content, "$", "$$")+"${3}"))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
