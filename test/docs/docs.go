// Package docs keeps generated sections of the project's Markdown in step with
// what produces them: a test renders a section and compares it with the file, or
// rewrites it when asked to. A section lies between the lines
// <!-- NAME:begin … --> and <!-- NAME:end -->.
package docs

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

func pattern(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)(<!-- ` + regexp.QuoteMeta(name) + `:begin[^\n]*-->\n)(.*?)(<!-- ` + regexp.QuoteMeta(name) + `:end -->)`)
}

// Read returns the current content of section name in the file at path.
func Read(path, name string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	m := pattern(name).FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("%s has no section %q (<!-- %s:begin … --> … <!-- %s:end -->)", path, name, name, name)
	}
	return string(m[2]), nil
}

// Replace rewrites section name of the file at path to content.
func Replace(path, name, content string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !pattern(name).Match(data) {
		return fmt.Errorf("%s has no section %q", path, name)
	}
	data = pattern(name).ReplaceAll(data, []byte("${1}"+strings.ReplaceAll(content, "$", "$$")+"${3}"))
	return os.WriteFile(path, data, 0o644)
}

// Section returns the current content of section name in the file at path.
func Section(t testing.TB, path, name string) string {
	t.Helper()
	s, err := Read(path, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
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
	if err := Replace(path, name, content); err != nil {
		t.Fatal(err)
	}
}
