package action_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, glob := range []string{".github/workflows/*.yml", "examples/workflows/*.yml"} {
		m, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no workflows found")
	}
	return files
}

// pinnedUse is a step of another repository's action, pinned by commit with
// the release it is as a comment: a tag can be moved, a commit cannot.
var pinnedUse = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40} # v[0-9][0-9A-Za-z.-]*$`)

// TestWorkflowsPinThirdPartyActions: every action of another repository is
// pinned by commit SHA, in this repository's workflows and in the examples
// users copy; only the action itself goes by its major version.
func TestWorkflowsPinThirdPartyActions(t *testing.T) {
	usesLine := regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(.*)$`)
	for _, f := range workflowFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			ref := strings.TrimSpace(m[1])
			if strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, actionRepo+"@") {
				continue
			}
			if !pinnedUse.MatchString(ref) {
				t.Errorf("%s:%d: %q is not pinned as OWNER/REPO@<40-hex commit> # vX.Y.Z", f, i+1, ref)
			}
		}
	}
}

// TestWorkflowsTestWithoutWriteAccess: no job that may write (contents,
// packages, …) runs the project's tests or other code under test: they run in
// jobs with read access only.
func TestWorkflowsTestWithoutWriteAccess(t *testing.T) {
	for _, f := range workflowFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Permissions any
			Jobs        map[string]struct {
				Permissions any
				Steps       []struct{ Run string }
			}
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, j := range wf.Jobs {
			perms := j.Permissions
			if perms == nil {
				perms = wf.Permissions
			}
			if !writes(perms) {
				continue
			}
			for _, s := range j.Steps {
				if strings.Contains(s.Run, "go test") || strings.Contains(s.Run, "test/all.sh") {
					t.Errorf("%s: job %s may write (%v) and runs tests: %q; run them in a job with read access", f, name, perms, s.Run)
				}
			}
		}
	}
}

func writes(perms any) bool {
	switch p := perms.(type) {
	case string:
		return p == "write-all"
	case map[string]any:
		for _, v := range p {
			if v == "write" {
				return true
			}
		}
	}
	return false
}
