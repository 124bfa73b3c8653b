package ghrepo

import "testing"

func TestCheckBranch(t *testing.T) {
	for _, b := range []string{"pins", "gh-pages", "pins/v1", "release-1.2"} {
		if err := CheckBranch(b); err != nil {
			t.Errorf("CheckBranch(%q) = %v, want nil", b, err)
		}
	}
	for _, b := range []string{"", "refs/heads/pins", "-x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", `a\b`, "/a", "a/", "a//b", "a.", ".a", "a/.b", "a.lock", "a.lock/b", "@", "a@{1}", "a\x01"} {
		if err := CheckBranch(b); err == nil {
			t.Errorf("CheckBranch(%q) = nil, want an error", b)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, r := range []string{"o/r", "Octo-Cat/pins.v2", "o/r_x", "o/.github"} {
		if _, _, err := Split(r); err != nil {
			t.Errorf("Split(%q) = %v, want nil", r, err)
		}
	}
	for _, r := range []string{"", "o", "o/", "/r", "o/r/x", "o/..", "o/.", "-o/r", "o_x/r", "o/r?x", "o/r#", "o/ r", "o/r%2F"} {
		if _, _, err := Split(r); err == nil {
			t.Errorf("Split(%q) = nil, want an error", r)
		}
	}
}
