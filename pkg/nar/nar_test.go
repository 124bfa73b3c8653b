package nar

import (
	"bytes"
	"strings"
	"testing"
)

// The wanted hashes are what `nix hash path` printed for these trees, written
// to disk, on Nix 2.8.0 and on Nix 2.26.3 alike. The end-to-end suite
// (test/e2e) compares Hash with `nix hash path` of real bundles on every
// installation it runs.
func TestHash(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		want  string
	}{
		{
			name:  "one file",
			files: []File{{Path: "a", Data: []byte("hello\n")}},
			want:  "sha256-lYm+o5HTptO6iNGG6L41EMhGGyh2L9gt5P7stJH8gqI=",
		},
		{
			// Nested and executable files, an empty file, contents of exactly 8
			// bytes (no padding) and 9, upper case before lower case, and "a"
			// (a folder) before "a.b", as bytewise order puts them. Given out of
			// order: Hash sorts.
			name: "nested, executable, padding, order",
			files: []File{
				{Path: "nine", Data: []byte("123456789")},
				{Path: "bin/run", Data: []byte("#!/bin/sh\necho hi\n"), Executable: true},
				{Path: "data/x/y.json", Data: []byte("{}\n")},
				{Path: "empty", Data: []byte{}},
				{Path: "eight", Data: []byte("12345678")},
				{Path: "Z", Data: []byte("z")},
				{Path: "a.b", Data: []byte("ab")},
				{Path: "a/c", Data: []byte("c")},
			},
			want: "sha256-kj3BB70QsSpolY56hOZWyXFPOebwasPcoRmPrZlz75I=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Hash(tt.files)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Hash = %s, want %s (nix hash path)", got, tt.want)
			}
		})
	}
}

// TestWriteLayout checks the serialisation token by token for the smallest tree.
func TestWriteLayout(t *testing.T) {
	var got bytes.Buffer
	if err := Write(&got, []File{{Path: "x", Data: []byte("hi"), Executable: true}}); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for _, s := range []string{"nix-archive-1", "(", "type", "directory", "entry", "(", "name", "x", "node",
		"(", "type", "regular", "executable", "", "contents", "hi", ")", ")", ")"} {
		n := len(s)
		want.Write([]byte{byte(n), 0, 0, 0, 0, 0, 0, 0})
		want.WriteString(s)
		want.Write(make([]byte, (8-n%8)%8))
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("NAR differs:\n got %q\nwant %q", got.Bytes(), want.Bytes())
	}
}

func TestBadPaths(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		want  string
	}{
		{"empty path", []File{{Path: ""}}, "not a clean relative path"},
		{"absolute", []File{{Path: "/a"}}, "not a clean relative path"},
		{"dot dot", []File{{Path: "../a"}}, "not a clean relative path"},
		{"unclean", []File{{Path: "a//b"}}, "not a clean relative path"},
		{"twice", []File{{Path: "a"}, {Path: "a"}}, `"a" is given twice`},
		{"file and folder", []File{{Path: "a"}, {Path: "a/b"}}, `"a" is given twice, or as both`},
		{"folder and file", []File{{Path: "a/b"}, {Path: "a"}}, `"a" is given twice, or as both`},
		{"nul", []File{{Path: "a\x00b"}}, "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Hash(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Hash: error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
