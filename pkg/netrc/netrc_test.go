package netrc_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/netrc"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name string
		text string
		want []netrc.Entry
	}{
		{"cachix use", "machine demo.cachix.org password TOK\n",
			[]netrc.Entry{{Machine: "demo.cachix.org", Password: "TOK"}}},
		{"one line, every keyword", "machine Cache.Example login u password p account a",
			[]netrc.Entry{{Machine: "cache.example", Login: "u", Password: "p", Account: "a"}}},
		{"several lines and tabs", "machine a.example\n\tlogin u\n\tpassword p\r\nmachine b.example password q\n",
			[]netrc.Entry{{Machine: "a.example", Login: "u", Password: "p"}, {Machine: "b.example", Password: "q"}}},
		{"default", "default login anonymous password me@example\nmachine a.example password p",
			[]netrc.Entry{{Default: true, Login: "anonymous", Password: "me@example"}, {Machine: "a.example", Password: "p"}}},
		{"comments", "# netrc\nmachine a.example # the cache\npassword p # its token\n#machine b.example password q\n",
			[]netrc.Entry{{Machine: "a.example", Password: "p"}}},
		{"quoted values", `machine a.example login "a user" password "p\"w\\d\tx"`,
			[]netrc.Entry{{Machine: "a.example", Login: "a user", Password: "p\"w\\d\tx"}}},
		{"a hash inside a value", "machine a.example password p#q",
			[]netrc.Entry{{Machine: "a.example", Password: "p#q"}}},
		{"macdef skipped up to an empty line", "machine a.example password p\nmacdef init\ncd /pub\nmachine fake password no\n\nmachine b.example password q\n",
			[]netrc.Entry{{Machine: "a.example", Password: "p"}, {Machine: "b.example", Password: "q"}}},
		{"macdef at the end", "machine a.example password p\nmacdef init\ncd /pub",
			[]netrc.Entry{{Machine: "a.example", Password: "p"}}},
		{"login outside an entry is skipped", "login u password p\nmachine a.example password q",
			[]netrc.Entry{{Machine: "a.example", Password: "q"}}},
		{"unknown words are skipped", "machine a.example port 443 password p",
			[]netrc.Entry{{Machine: "a.example", Password: "p"}}},
		{"empty", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := netrc.Parse(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, f.Entries); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		line       int
		msg        string
	}{
		{"password without a value", "machine a.example\npassword", 2, "password has no value"},
		{"machine without a value", "machine", 1, "machine has no value"},
		{"unclosed quote", "machine a.example\npassword \"s3cr3t\nlogin u", 2, "not closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := netrc.Parse(tt.text)
			var se *netrc.SyntaxError
			if !errors.As(err, &se) || se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("err = %v, want line %d: %s", err, tt.line, tt.msg)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error shows a value: %v", err)
			}
		})
	}
}

func TestMachine(t *testing.T) {
	f, err := netrc.Parse("default password everyone\nmachine a.example password first\nmachine A.EXAMPLE password second\n")
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := f.Machine("A.example"); !ok || e.Password != "first" {
		t.Errorf("Machine(A.example) = %+v, %v; want the first entry, any case", e, ok)
	}
	// The default entry goes to no host: it would reach every cache.
	if e, ok := f.Machine("b.example"); ok {
		t.Errorf("Machine(b.example) = %+v, want none", e)
	}
	var none *netrc.File
	if _, ok := none.Machine("a.example"); ok {
		t.Error("a nil file has a machine")
	}
	if got := f.Passwords(); !cmp.Equal(got, []string{"everyone", "first", "second"}) {
		t.Errorf("Passwords = %q", got)
	}
}

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(path, []byte("machine a.example password p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := netrc.Read(path)
	if err != nil || len(f.Entries) != 1 {
		t.Fatalf("Read = %+v, %v", f, err)
	}
	if _, err := netrc.Read(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("machine a.example password"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := netrc.Read(path); err == nil || !strings.Contains(err.Error(), path+": line 1") {
		t.Errorf("bad file: %v, want the path and line", err)
	}
}
