package pins

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReadStoreLink(t *testing.T) {
	const sp = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.12"
	dir := t.TempDir()
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The store path does not exist here: only the links are read.
	result := link("result", sp)
	chain := link("chain", "result")
	inside := link("inside", sp+"/bin/hello")
	loop := link("loop", "loop")
	bad := link("bad", "/nix/store/not-a-hash")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want string
		wantErr  error
	}{
		{in: sp, want: sp},
		{in: sp + "/bin/hello", want: sp},
		{in: result, want: sp},
		{in: result + "/", want: sp}, // the link, as a shell completes it
		{in: chain, want: sp},
		{in: inside, want: sp},
		{in: plain, wantErr: ErrNotStorePath},
		{in: loop},
		{in: bad},
		{in: filepath.Join(dir, "missing"), wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		got, err := ReadStoreLink(tt.in)
		switch {
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("ReadStoreLink(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.want == "" && err == nil:
			t.Errorf("ReadStoreLink(%s) = %q, want an error", tt.in, got)
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("ReadStoreLink(%s): err = %v, want %v", tt.in, err, tt.wantErr)
		}
	}
}

func TestNixSystem(t *testing.T) {
	for _, tt := range []struct{ goos, goarch, want string }{
		{"linux", "amd64", "x86_64-linux"},
		{"linux", "arm64", "aarch64-linux"},
		{"darwin", "arm64", "aarch64-darwin"},
		{"darwin", "amd64", "x86_64-darwin"},
		{"linux", "riscv64", "riscv64-linux"},
		{"plan9", "amd64", ""},
	} {
		got, ok := NixSystem(tt.goos, tt.goarch)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("NixSystem(%s, %s) = %q, %v; want %q", tt.goos, tt.goarch, got, ok, tt.want)
		}
		if ok && !IsSystem(got) {
			t.Errorf("%q is not a system by IsSystem", got)
		}
	}
}
