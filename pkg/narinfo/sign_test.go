package narinfo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The narinfo files of testdata/signed were written by `nix copy --to
// file://…?secret-key=…` (Nix 2.8), signed by the key in test-1.pub: one
// path with no reference, one referring to it.
func signed(t *testing.T, name string) *NarInfo {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "signed", name))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSignedBy(t *testing.T) {
	pub, err := os.ReadFile(filepath.Join("testdata", "signed", "test-1.pub"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(pub))
	other := "test-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=" // the same name, another key
	for _, tt := range []struct {
		name string
		edit func(*NarInfo)
		keys []string
		want string
	}{
		{"no references", nil, []string{key}, "test-1"},
		{"references", nil, []string{key}, "test-1"},
		{"another key of the name", nil, []string{other}, ""},
		{"among keys", nil, []string{"a-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=", key}, "test-1"},
		{"the hash in base16", func(n *NarInfo) {
			n.NarHash = "sha256:84d4cf45e65dc91e63593fbb52dcfe44d665452f8c907ff793a6ab44aeeb4237"
		}, []string{key}, "test-1"},
		{"another size", func(n *NarInfo) { n.NarSize++ }, []string{key}, ""},
		{"another reference", func(n *NarInfo) { n.References = []string{"00000000000000000000000000000000-x"} }, []string{key}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := "xp0dpr9yz5h0fk5c5lpj7zzqjbdh3w8c.narinfo"
			if tt.name != "no references" {
				file = "4vscjx412rbcccj310h4959yaj1ip49h.narinfo"
			}
			n := signed(t, file)
			if tt.edit != nil {
				tt.edit(n)
			}
			got, err := n.SignedBy(tt.keys)
			if err != nil || got != tt.want {
				t.Errorf("SignedBy = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestNix32: Nix's base-32 of the sha256 of nothing, as nix-hash
// --to-base32 prints it.
func TestNix32(t *testing.T) {
	got, err := nix32Hash("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	if want := "sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"; err != nil || got != want {
		t.Errorf("nix32Hash = %q, %v; want %q", got, err, want)
	}
}
