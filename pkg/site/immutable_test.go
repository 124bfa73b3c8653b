package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealNamesTheContent(t *testing.T) {
	seal := func(v IndexView, paths ...string) (BundleRef, string, IndexView) {
		t.Helper()
		b, m := render(t, paths...)
		readme, err := Seal(b, &m, &v)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Bundles) != 1 {
			t.Fatalf("Seal listed %d bundles, want 1", len(m.Bundles))
		}
		// The README is in the bundle whose narHash is listed.
		nh, err := b.NarHash()
		if err != nil || nh != m.Bundles[0].NarHash {
			t.Errorf("listed narHash %s, but the bundle's is %s (%v)", m.Bundles[0].NarHash, nh, err)
		}
		return m.Bundles[0], string(readme), v
	}
	const url = "https://o.github.io/r/pins"
	a, readme, v := seal(IndexView{URL: url}, storePath)
	if !ValidBundlePath(a.Path) || a.URL != "https://o.github.io/r/"+a.Path || v.Lock != a.URL {
		t.Errorf("bundle %+v, lock %q: want b/NAME.tar.gz under the site, locked", a, v.Lock)
	}
	if !strings.Contains(readme, `inputs.pins.url = "`+a.URL+`";`) || strings.Contains(readme, placeholder) {
		t.Errorf("the README does not show the immutable URL:\n%s", readme)
	}
	if again, _, _ := seal(IndexView{URL: url}, storePath); again != a {
		t.Errorf("the same content got %+v, then %+v", a, again)
	}
	if other, _, _ := seal(IndexView{URL: url}, storePath, storePath); other.Path == a.Path {
		t.Errorf("other pins got the same name %s", a.Path)
	}

	// Branch mode: the branch is what flakes lock.
	br, readme, v := seal(IndexView{URL: "https://github.com/o/r/archive/pins.tar.gz", FlakeRef: "github:o/r/pins"}, storePath)
	if br.URL != "" || v.Lock != "github:o/r/pins" || !strings.Contains(readme, `inputs.pins.url = "github:o/r/pins";`) {
		t.Errorf("branch mode: bundle %+v, lock %q, README:\n%s", br, v.Lock, readme)
	}
	// No URL known: nothing to lock, and no URL in pins.json.
	none, readme, v := seal(IndexView{URL: "URL"}, storePath)
	if none.URL != "" || v.Lock != "" || strings.Contains(readme, "inputs.pins.url") {
		t.Errorf("unknown URL: bundle %+v, lock %q, README:\n%s", none, v.Lock, readme)
	}
}

func TestRenderHeaders(t *testing.T) {
	ref := BundleRef{Path: "b/0123456789abcdef0123456789abcdef.tar.gz", NarHash: "sha256-ab+/c=", URL: "https://pins.example.org/sub/b/0123456789abcdef0123456789abcdef.tar.gz"}
	got := string(RenderHeaders(ManifestData{Bundles: []BundleRef{ref}}))
	link := `  Link: <https://pins.example.org/sub/b/0123456789abcdef0123456789abcdef.tar.gz?narHash=sha256-ab%2B%2Fc%3D>; rel="immutable"`
	for _, want := range []string{"\n/sub/pins\n" + link + "\n", "\n/sub/pins.tar.gz\n" + link + "\n", "\n/sub/b/*\n  Cache-Control: public, max-age=31536000, immutable\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("_headers lacks %q:\n%s", want, got)
		}
	}
	if h := RenderHeaders(ManifestData{Bundles: []BundleRef{{Path: ref.Path, NarHash: ref.NarHash}}}); h != nil {
		t.Errorf("without a URL, _headers = %q, want none", h)
	}
}

func TestWriteKeepsAForeignBundlesFolder(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, BundlesDir, "photo.jpg")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, m := render(t, storePath)
	v := IndexView{URL: "https://o.github.io/r/pins"}
	if _, err := Seal(b, &m, &v); err != nil {
		t.Fatal(err)
	}
	_, err := Write(dir, b, m, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not written by create-pin-refs") {
		t.Errorf("Write = %v, want a refusal", err)
	}
	if data, err := os.ReadFile(mine); err != nil || string(data) != "mine" {
		t.Errorf("the foreign folder was changed: %q, %v", data, err)
	}
	if _, err := Write(t.TempDir(), b, m, nil, map[string][]byte{"b/../x.tar.gz": nil}); err == nil {
		t.Error("Write took an immutable bundle path outside b/")
	}
	// Written: b/ holds the bundle's tarball, byte for byte.
	out := t.TempDir()
	if _, err := Write(out, b, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, err1 := os.ReadFile(filepath.Join(out, filepath.FromSlash(m.Bundles[0].Path)))
	want, err2 := os.ReadFile(filepath.Join(out, TarballGz))
	if err1 != nil || err2 != nil || string(got) != string(want) {
		t.Errorf("%s is not the tarball (%v, %v)", m.Bundles[0].Path, err1, err2)
	}
	if h, err := os.ReadFile(filepath.Join(out, Headers)); err != nil || !strings.Contains(string(h), "/r/pins.tar.gz\n") {
		t.Errorf("_headers: %q, %v", h, err)
	}
}

// TestIndexShowsLockableForm: the index page shows what flake inputs should
// lock beside the commands of the mutable URL, and nothing when unknown.
func TestIndexShowsLockableForm(t *testing.T) {
	b, m := render(t, storePath)
	v := IndexView{URL: "https://o.github.io/r/pins"}
	if _, err := Seal(b, &m, &v); err != nil {
		t.Fatal(err)
	}
	page, err := RenderIndex(m, v)
	if err != nil {
		t.Fatal(err)
	}
	want := "inputs.pins.url = &#34;" + m.Bundles[0].URL + "&#34;;"
	if !strings.Contains(string(page), want) || !strings.Contains(string(page), "nix run --refresh &#39;https://o.github.io/r/pins#NAME&#39;") {
		t.Errorf("the index page lacks %q beside the mutable URL", want)
	}
	v.Lock = ""
	if page, _ := RenderIndex(m, v); strings.Contains(string(page), "inputs.pins.url") {
		t.Error("the index page shows a lockable form without one")
	}
}
