package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name              string
		bi                *debug.BuildInfo
		version, revision string // stamped with -ldflags -X
		want              string
	}{
		{
			name: "go install at a tag",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			want: "create-pin-refs v1.4.0 (go1.26.8)",
		},
		{
			name: "go build in a git checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.1-0.20261201093000-0123456789ab"},
				Settings: vcs("vcs", "git", "vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-12-01T09:30:00Z", "vcs.modified", "false")},
			want: "create-pin-refs v1.4.1-0.20261201093000-0123456789ab (rev 0123456789ab, 2026-12-01, go1.26.8)",
		},
		{
			name: "a work tree with changes",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.1-0.20261201093000-0123456789ab+dirty"},
				Settings: vcs("vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-12-01T23:30:00-05:00", "vcs.modified", "true")},
			want: "create-pin-refs v1.4.1-0.20261201093000-0123456789ab+dirty (rev 0123456789ab, modified, 2026-12-02, go1.26.8)",
		},
		{
			name:    "the image: stamped, no .git",
			bi:      &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			version: "v1.4.0", revision: "fedcba9876543210fedcba9876543210fedcba98",
			want: "create-pin-refs v1.4.0 (rev fedcba987654, go1.26.8)",
		},
		{
			name: "a stamped revision wins over the checkout's",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
				Settings: vcs("vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-12-01T09:30:00Z", "vcs.modified", "true")},
			version: "v1.4.0", revision: "fedcba98",
			want: "create-pin-refs v1.4.0 (rev fedcba98, go1.26.8)",
		},
		{
			name: "go build without version control",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: "create-pin-refs dev (go1.26.8)",
		},
		{
			name: "no build information",
			want: "create-pin-refs dev",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := From(tt.bi, tt.version, tt.revision).String(); got != tt.want {
				t.Errorf("From(…).String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRead: a test binary has Go's build information too.
func TestRead(t *testing.T) {
	i := Read("v9.9.9", "")
	if i.Version != "v9.9.9" || i.Go == "" {
		t.Errorf("Read(v9.9.9) = %+v, want that version and the toolchain's", i)
	}
}
