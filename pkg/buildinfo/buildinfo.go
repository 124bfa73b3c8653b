// Package buildinfo says which build of the program is running, for
// --version, the User-Agent and bug reports.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// Info is what a binary knows of its own build.
type Info struct {
	Version  string    // v1.4.0, a pseudo-version, or "dev"
	Revision string    // the commit; "" if unknown
	Time     time.Time // the commit's time; zero if unknown
	Modified bool      // built from a work tree with changes
	Go       string    // the toolchain, go1.26.8
}

// Read returns the running binary's Info. version and revision are what the
// build stamped with -ldflags -X, if anything: the image is built without
// .git, so Go records no revision, and without a module version.
func Read(version, revision string) Info {
	bi, _ := debug.ReadBuildInfo()
	return From(bi, version, revision)
}

// From makes an Info from Go's build information (nil: none) and the
// stamped version and revision, which win over it when not empty. Go records
// the module's version for `go install …@v1.2.3`, a pseudo-version for
// `go build` in a git checkout, and the vcs.* settings for the latter.
func From(bi *debug.BuildInfo, version, revision string) Info {
	i := Info{Version: version, Revision: revision}
	if bi != nil {
		i.Go = bi.GoVersion
		if v := bi.Main.Version; i.Version == "" && v != "" && v != "(devel)" {
			i.Version = v
		}
		for _, s := range bi.Settings {
			if revision != "" {
				break // the vcs.* settings describe another commit
			}
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.time":
				i.Time, _ = time.Parse(time.RFC3339, s.Value)
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	return i
}

// String is the --version line:
// "create-pin-refs v1.4.0 (rev 0123456789ab, 2026-12-01, go1.26.8)".
func (i Info) String() string {
	var about []string
	if i.Revision != "" {
		about = append(about, "rev "+i.Revision[:min(len(i.Revision), 12)])
	}
	if i.Modified {
		about = append(about, "modified")
	}
	if !i.Time.IsZero() {
		about = append(about, i.Time.UTC().Format(time.DateOnly))
	}
	if i.Go != "" {
		about = append(about, i.Go)
	}
	if len(about) == 0 {
		return "create-pin-refs " + i.Version
	}
	return fmt.Sprintf("create-pin-refs %s (%s)", i.Version, strings.Join(about, ", "))
}
