package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestReadmeSaysTheRuns: the README's method for its figures is the default.
func TestReadmeSaysTheRuns(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("minimum of %d runs", defaultRuns); !strings.Contains(string(data), want) {
		t.Errorf("README.md does not say %q, the benchmark's default", want)
	}
}
