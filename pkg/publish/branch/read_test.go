package branch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// withManifest is bundle(tag) and a top-level pins.json of about 1 KB,
// small enough that reading the head's whole tree does not pay.
func withManifest(tag string) ([]File, []byte) {
	var m []byte
	for i := range 15 {
		m = fmt.Appendf(m, `{"pin":"p%02d","storePath":"/nix/store/%032d-p"},`, i, i)
	}
	m = []byte(`{"format":2,"pins":[` + string(m[:len(m)-1]) + `]}` + "\n")
	return append(bundle(tag), File{Path: "pins.json", Data: m}), m
}

// TestReadFile: a file of the base is read in two requests besides the
// ref, the commit and the top of the tree side by side, then its blob; the
// publish on top of that base reads neither the commit again nor anything
// else to find the branch unchanged.
func TestReadFile(t *testing.T) {
	fake, _ := setup(t, fakegithub.Options{})
	gh, rec := recordingClient(t, fake)
	files, manifest := withManifest("one")
	first := mustPublish(t, gh, opts(fake), files)
	rec.take()

	o := opts(fake)
	base, err := ReadBase(context.Background(), gh, o)
	if err != nil {
		t.Fatal(err)
	}
	data, err := base.ReadFile(context.Background(), gh, o, "pins.json", 1<<20)
	if err != nil || !bytes.Equal(data, manifest) {
		t.Fatalf("ReadFile = %q, %v; want the pins.json published", data, err)
	}
	calls, _ := rec.take()
	head := first.CommitSHA
	want := []string{getRef, getRepo, "GET /repos/owner/repo/git/commits/" + head, "GET /repos/owner/repo/git/trees/" + head, "GET /repos/owner/repo/git/blobs/" + blobID(manifest)}
	// The commit, the listing and the repository go out together, in any
	// order.
	if len(calls) == 5 {
		slices.Sort(calls[1:4])
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	o.Base = base
	res := mustPublish(t, gh, o, files)
	if calls, _ := rec.take(); res.Changed || res.APICalls != 5 || len(calls) != 0 {
		t.Errorf("unchanged on top of the base read: changed %v, APICalls %d, then %v; want unchanged, 5, no call", res.Changed, res.APICalls, calls)
	}

	for _, tt := range []struct {
		name  string
		limit int64
		want  error
	}{
		{"nope.json", 1 << 20, ErrNoFile},
		{"data", 1 << 20, ErrNoFile}, // a folder
		{"pins.json", int64(len(manifest)) - 1, ErrFileTooLarge},
	} {
		if _, err := base.ReadFile(context.Background(), gh, o, tt.name, tt.limit); !errors.Is(err, tt.want) {
			t.Errorf("ReadFile(%s, %d) = %v, want %v", tt.name, tt.limit, err, tt.want)
		}
		if calls, _ := rec.take(); len(calls) != 0 {
			t.Errorf("ReadFile(%s, %d) sent %v, want nothing: the top was read already", tt.name, tt.limit, calls)
		}
	}

	o.Branch = "none"
	none, err := ReadBase(context.Background(), gh, o)
	if err != nil {
		t.Fatal(err)
	}
	rec.take()
	if _, err := none.ReadFile(context.Background(), gh, o, "pins.json", 1<<20); !errors.Is(err, ErrNoFile) {
		t.Errorf("ReadFile of no branch = %v, want ErrNoFile", err)
	}
	if calls, _ := rec.take(); len(calls) != 0 {
		t.Errorf("ReadFile of no branch sent %v", calls)
	}
}

// TestReadFileNamesTheTopByID: the blobs that ReadFile saw listed at the top
// of the base are named by id, not sent, even when reading the whole tree
// would not pay: an unchanged pins.json does not travel again.
func TestReadFileNamesTheTopByID(t *testing.T) {
	fake, _ := setup(t, fakegithub.Options{})
	gh, rec := recordingClient(t, fake)
	one, manifest := withManifest("one")
	mustPublish(t, gh, opts(fake), one)
	two, _ := withManifest("two")
	if worthListing(append(slices.Clone(two), File{Path: MarkerPath, Data: MarkerContent()})) {
		t.Fatal("the fixture's tree is worth listing: the test shows nothing")
	}
	for _, read := range []bool{false, true} {
		o := opts(fake)
		base, err := ReadBase(context.Background(), gh, o)
		if err == nil && read {
			_, err = base.ReadFile(context.Background(), gh, o, "pins.json", 1<<20)
		}
		if err != nil {
			t.Fatal(err)
		}
		rec.take()
		o.Base = base
		files := two
		if read {
			files = one // back, with pins.json as it was all along
		}
		mustPublish(t, gh, o, files)
		calls, body := rec.take()
		sent := bytes.Contains(body[createTree], jsonString(t, manifest))
		if sent == read {
			t.Errorf("ReadFile first %v: pins.json sent %v, want %v (calls %v)", read, sent, !read, calls)
		}
	}
}

// TestReadFileReadsTheDefaultBranch: the repository's default branch comes
// with the base's commit and tree, so that a publish on top of a base read
// by ReadFile asks nothing before it writes.
func TestReadFileReadsTheDefaultBranch(t *testing.T) {
	fake, _ := setup(t, fakegithub.Options{})
	gh, rec := recordingClient(t, fake)
	one, _ := withManifest("one")
	mustPublish(t, gh, opts(fake), one)
	o := opts(fake)
	base, err := ReadBase(context.Background(), gh, o)
	if err == nil {
		_, err = base.ReadFile(context.Background(), gh, o, "pins.json", 1<<20)
	}
	if err != nil {
		t.Fatal(err)
	}
	rec.take()
	o.Base = base
	two, _ := withManifest("two")
	if res := mustPublish(t, gh, o, two); !res.Changed {
		t.Fatal("nothing committed: the test shows nothing")
	}
	calls, _ := rec.take()
	for _, c := range calls {
		if !strings.HasPrefix(c, "POST ") && !strings.HasPrefix(c, "PATCH ") {
			t.Errorf("the publish on top of the base read %s; want writes only: %v", c, calls)
		}
	}
}

// TestReadFileRaw: ReadFile asks for a blob's bytes alone (the raw media
// type), and still reads a server that answers with base64 in JSON.
func TestReadFileRaw(t *testing.T) {
	for _, raw := range []bool{true, false} {
		t.Run(fmt.Sprint("raw ", raw), func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			files, manifest := withManifest("one")
			mustPublish(t, gh, opts(fake), files)
			var accepts []string
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/git/blobs/") {
					mu.Lock()
					accepts = append(accepts, r.Header.Get("Accept"))
					mu.Unlock()
					if !raw {
						r.Header.Set("Accept", "application/vnd.github+json")
					}
				}
				fake.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			c, err := NewClient(srv.Client(), srv.URL+"/api/v3", fake.Token)
			if err != nil {
				t.Fatal(err)
			}
			o := opts(fake)
			base, err := ReadBase(context.Background(), c, o)
			if err != nil {
				t.Fatal(err)
			}
			data, err := base.ReadFile(context.Background(), c, o, "pins.json", 1<<20)
			if err != nil || !bytes.Equal(data, manifest) {
				t.Fatalf("ReadFile = %q, %v; want the pins.json published", data, err)
			}
			if len(accepts) != 1 || !strings.Contains(accepts[0], "application/vnd.github.raw") {
				t.Errorf("blob requests asked for %q, want the raw media type once", accepts)
			}
		})
	}
}

// TestReadFileListsASmallTree: without the folder of many files
// (Options.ManyFilesIn), ReadFile lists the whole tree beside reading its
// file, and the publish on top names what it holds by id with no request
// before it writes; with that folder it lists only the top.
func TestReadFileListsASmallTree(t *testing.T) {
	for _, many := range []bool{false, true} {
		t.Run(fmt.Sprint("many files ", many), func(t *testing.T) {
			fake, _ := setup(t, fakegithub.Options{})
			gh, rec := recordingClient(t, fake)
			_, manifest := withManifest("x")
			files := func(tag string) []File {
				fs := append(bigBundle(tag), File{Path: "pins.json", Data: manifest})
				if many {
					fs = append(fs, File{Path: "p/a/default.nix", Data: []byte("{ }: { }\n")})
				}
				return fs
			}
			mustPublish(t, gh, opts(fake), files("one"))
			rec.take()
			o := opts(fake)
			o.ManyFilesIn = "p"
			base, err := ReadBase(context.Background(), gh, o)
			if err == nil {
				_, err = base.ReadFile(context.Background(), gh, o, "pins.json", 1<<20)
			}
			if err != nil {
				t.Fatal(err)
			}
			calls, _ := rec.take()
			listed := slices.ContainsFunc(calls, func(c string) bool { return strings.HasSuffix(c, "?recursive=1") })
			if listed == many {
				t.Errorf("ReadFile listed the whole tree: %v, want %v (calls %v)", listed, !many, calls)
			}
			o.Base = base
			mustPublish(t, gh, o, files("two"))
			calls, body := rec.take()
			if !many && (!strings.HasPrefix(calls[0], "POST ") || bytes.Contains(body[createTree], jsonString(t, manifest))) {
				t.Errorf("the publish on top read before writing, or sent pins.json again: %v", calls)
			}
		})
	}
}
