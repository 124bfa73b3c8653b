package site

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"strings"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// Index is the file name of the human-readable page, served as the site's root.
const Index = "index.html"

//go:embed index.html.tmpl
var indexSource string

//go:embed index.js
var indexScript string

// indexTemplate is parsed once; html/template escapes every value for where it
// lands, so pin names stay text.
var indexTemplate = template.Must(template.New("index").Funcs(template.FuncMap{"size": Size}).Parse(indexSource))

// Size shows a byte count as people read it: 812 B, 1.5 KiB, 20.3 MiB.
func Size(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// IndexView is what only the publisher knows about the site.
type IndexView struct {
	// URL is where the pins tarball is served, such as
	// https://owner.github.io/repo/pins.
	URL string
	// FlakeRef is a flake reference to the same bundle, such as
	// github:owner/repo/pins; empty when there is none.
	FlakeRef string
	// Lock is what flake inputs should lock: the immutable URL of this
	// publish's bundle, or the branch's flake reference; empty when unknown.
	Lock string
	// GeneratedBy is the version of create-pin-refs, such as v1.2.0.
	GeneratedBy string
	// PerPinURL is the base of the one-name bundles' URLs (URL/p/), when
	// they are built.
	PerPinURL string
}

// Command is one copy-paste shell command.
type Command struct {
	// Label says what the command does, such as "Run".
	Label string
	// Line is the command, every argument quoted for POSIX shells and zsh.
	Line string
}

// RenderIndex renders the site's index.html: how to set Nix up and run a pin,
// which needs no script, and a finder that loads the names and the chosen pin's
// data from the bundle (BundleDir) as the user asks, so that the page is the same
// few kilobytes at any pin count.
func RenderIndex(m ManifestData, v IndexView) ([]byte, error) {
	if v.URL == "" {
		return nil, errors.New("rendering the index page: no URL for the pins")
	}
	page := indexPage{
		Manifest:   m,
		View:       v,
		Bundle:     BundleDir + "/",
		Finder:     Finder,
		Script:     template.JS(indexScript),
		Settings:   nixSettings(m),
		RunExample: "nix run --refresh " + ShellQuote(v.URL+"#NAME"),
		TTLExample: "nix build --option tarball-ttl 0 -f " + ShellQuote(v.URL) + " NAME",
		Skipped:    m.Skipped[:min(len(m.Skipped), maxSkippedShown)],
	}
	page.LockText, page.LockInput = LockAdvice(v)
	page.MoreSkipped = len(m.Skipped) - len(page.Skipped)
	_, page.Names = groupPins(m.Pins, v.URL, v.FlakeRef, 0)
	if strings.HasSuffix(v.URL, "/"+Tarball) {
		page.OlderNixURL = v.URL + strings.TrimPrefix(TarballGz, Tarball)
	}
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, page); err != nil {
		return nil, fmt.Errorf("rendering the index page: %w", err)
	}
	return buf.Bytes(), nil
}

// maxSkippedShown bounds the skipped pins the page lists; pins.json has them all.
const maxSkippedShown = 100

type indexPage struct {
	Manifest ManifestData
	View     IndexView
	// Names is the number of distinct names.
	Names int
	// Bundle is the unpacked bundle's folder, relative to the page, with a slash.
	Bundle string
	// Finder is the names file, relative to the page.
	Finder     string
	Script     template.JS
	Settings   string
	RunExample string
	TTLExample string
	// OlderNixURL is the tarball's name with an extension, when the URL is ours.
	OlderNixURL string
	// LockText and LockInput say what flake inputs should lock (LockAdvice).
	LockText, LockInput string
	Skipped             []pins.Skipped
	MoreSkipped         int
}

func nixSettings(m ManifestData) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "extra-substituters = %s\n", m.Substituter)
	if len(m.PublicKeys) > 0 {
		fmt.Fprintf(&sb, "extra-trusted-public-keys = %s\n", strings.Join(m.PublicKeys, " "))
	}
	sb.WriteString("experimental-features = nix-command flakes fetch-closure")
	return sb.String()
}
