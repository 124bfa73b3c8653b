package branch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// getCommit is the call of reuse_test.go's set that names a sha, as calls shows it.
const getCommit = "GET /repos/owner/repo/git/commits/SHA"

var shaRE = regexp.MustCompile(`[0-9a-f]{40}`)

func calls(s *sent) []string {
	got, _ := s.take()
	for i, c := range got {
		got[i] = shaRE.ReplaceAllString(c, "SHA")
	}
	return got
}

// TestMovedBranch: a publish commits only on top of its base, the head read
// before its files were made. A head that another publish moved after that
// is ErrMoved, whether seen when reading the head or when the ref write is
// refused, and the branch keeps the other publish's commit: retrying the
// same files on the new head would drop what that publish added.
func TestMovedBranch(t *testing.T) {
	tests := []struct {
		name     string
		existing string // the files pins holds before ("": no pins)
		noBase   bool   // Options.Base left zero: the head first read is the base
		between  string // files another publish commits after our base read ("": none)
		at       string // the request of ours during which it does so ("": before ours)
		fail     bool   // our first request after the base read fails with a 502
		// wantErr is ErrMoved or nil; then the branch holds the other's
		// commit, or ours on top of the base (changed) or the base.
		wantErr     error
		wantChanged bool
		wantCalls   []string // ours, the base read included
	}{
		{
			name: "base is the head: commits", existing: "zero", wantChanged: true,
			wantCalls: []string{getRef, getCommit, getRepo, createTree, createCommit, updateRef},
		},
		{
			name: "base is the head, unchanged: two reads", existing: "mine",
			wantCalls: []string{getRef, getCommit},
		},
		{
			name: "base older than the head: the refused update is read as moved", existing: "zero", between: "other", wantErr: ErrMoved,
			// The tree and commit made are left unreferenced: the branch is not written.
			wantCalls: []string{getRef, getCommit, getRepo, createTree, createCommit, updateRef, getRef, getCommit},
		},
		{
			name: "base older than the head, seen on reading it again: nothing written", existing: "zero", between: "other", fail: true, wantErr: ErrMoved,
			wantCalls: []string{getRef, getCommit, getRef, getCommit},
		},
		{
			name: "no branch at the base, created since", between: "other", wantErr: ErrMoved,
			wantCalls: []string{getRef, createTree, createCommit, createRef, getRef, getCommit},
		},
		{
			name: "moved, to a head that holds our files: unchanged", existing: "zero", between: "mine",
			wantCalls: []string{getRef, getCommit, getRepo, createTree, createCommit, updateRef, getRef, getCommit},
		},
		{
			name: "lost compare-and-swap on update", existing: "zero", between: "other", at: updateRef, wantErr: ErrMoved,
			wantCalls: []string{getRef, getCommit, getRepo, createTree, createCommit, updateRef, getRef, getCommit},
		},
		{
			name: "lost compare-and-swap on create", between: "other", at: createRef, wantErr: ErrMoved,
			wantCalls: []string{getRef, createTree, createCommit, createRef, getRef, getCommit},
		},
		{
			name: "no base given: the first head read is the base", existing: "zero", noBase: true, between: "other", at: updateRef, wantErr: ErrMoved,
			wantCalls: []string{getRef, getCommit, getRepo, createTree, createCommit, updateRef, getRef, getCommit},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, gh := setup(t, fakegithub.Options{})
			ours, sent := recordingClient(t, fake)
			var before string
			files := bundle("mine")
			if tt.existing != "" {
				before = mustPublish(t, gh, opts(fake), bundle(tt.existing)).CommitSHA
			}
			o := opts(fake)
			if !tt.noBase {
				base, err := ReadBase(context.Background(), ours, o)
				if err != nil || base.Commit != before || !base.IsSet() {
					t.Fatalf("ReadBase = %+v, %v; want %q", base, err, before)
				}
				o.Base = base
			}
			var other *Result
			var fired atomic.Bool
			commitOther := func() {
				// Another message: the same files on the same parent in the
				// same second would otherwise be the very commit we make.
				o := opts(fake)
				o.CommitMessage = "Publish from another job"
				other = mustPublish(t, gh, o, bundle(tt.between))
			}
			switch {
			case tt.between != "" && tt.at != "":
				fake.OnRequest(func(method, path string) {
					if method+" "+shaRE.ReplaceAllString(path, "SHA") == tt.at && fired.CompareAndSwap(false, true) {
						commitOther()
					}
				})
			case tt.between != "":
				commitOther()
			}
			if tt.fail {
				fake.FailNext(1, http.StatusBadGateway)
			}
			res, err := Publish(context.Background(), ours, o, files)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Publish = %+v, %v; want %v", res, err, tt.wantErr)
			}
			got := calls(sent)
			if diff := cmp.Diff(tt.wantCalls, got); diff != "" {
				t.Errorf("our calls (-want +got):\n%s", diff)
			}
			head, _ := fake.Git("rev-parse", "pins")
			if err != nil {
				var moved *MovedError
				if !errors.As(err, &moved) {
					t.Fatalf("%v is no *MovedError", err)
				}
				want := &MovedError{Branch: "pins", Base: before, Head: other.CommitSHA, APICalls: len(got)}
				if diff := cmp.Diff(want, moved); diff != "" {
					t.Errorf("MovedError (-want +got):\n%s", diff)
				}
				if next := moved.Next(); next.Commit != other.CommitSHA || !next.IsSet() {
					t.Errorf("Next() = %+v, want the head found", next)
				}
				if head != other.CommitSHA {
					t.Errorf("pins is at %s, want the other publish's %s", head, other.CommitSHA)
				}
				if diff := cmp.Diff(wantFiles(bundle(tt.between)), cloneFiles(t, fake, "pins")); diff != "" {
					t.Errorf("the other publish's files were changed (-want +got):\n%s", diff)
				}
				return
			}
			if res.APICalls != len(got) || res.Changed != tt.wantChanged || res.CommitSHA != head {
				t.Errorf("Result = %+v after %d calls; pins at %s; want changed %v", res, len(got), head, tt.wantChanged)
			}
			switch {
			case other != nil && head != other.CommitSHA:
				t.Errorf("pins at %s, want the other publish's %s, which holds our files", head, other.CommitSHA)
			case tt.wantChanged && !slices.Equal(parents(t, fake, "pins")[head], []string{before}):
				t.Errorf("our commit is not on top of the base %s", before)
			}
			if diff := cmp.Diff(wantFiles(files), cloneFiles(t, fake, "pins")); diff != "" {
				t.Errorf("cloned files (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrentPublishers races publishers with different files on one
// branch, each as the command line does it: read the base, publish, and on
// ErrMoved publish again on the head found. Each commit lands on top of the
// base its publisher read, none is lost or forced, and the history is one
// line. Each round at least one publisher lands, so n rounds always do.
func TestConcurrentPublishers(t *testing.T) {
	const n = 8
	fake, gh := setup(t, fakegithub.Options{})
	type outcome struct {
		res    *Result
		base   string // the base it landed on
		rounds int
		err    error
	}
	out := make([]outcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			o := opts(fake)
			o.Retry.Attempts = 1
			files := bundle(fmt.Sprintf("p%d", i))
			base, err := ReadBase(context.Background(), gh, o)
			for r := 1; err == nil && r <= n; r++ {
				o.Base = base
				out[i].res, err = Publish(context.Background(), gh, o, files)
				out[i].base, out[i].rounds = base.Commit, r
				if moved := (*MovedError)(nil); errors.As(err, &moved) && r < n {
					base, err = moved.Next(), nil
				} else {
					break
				}
			}
			out[i].err = err
		}()
	}
	close(start)
	wg.Wait()

	history := parents(t, fake, "pins")
	for i, o := range out {
		if o.err != nil {
			t.Errorf("publisher %d: %v", i, o.err)
			continue
		}
		t.Logf("publisher %d: %d rounds, last %d attempts, %d API calls", i, o.rounds, o.res.Attempts, o.res.APICalls)
		ps, ok := history[o.res.CommitSHA]
		switch {
		case !o.res.Changed:
			t.Errorf("publisher %d: not changed", i)
		case !ok:
			t.Errorf("publisher %d: commit %s is not in the history (lost update)", i, o.res.CommitSHA)
		case !slices.Equal(ps, []string{o.base}) && !(o.base == "" && len(ps) == 0):
			t.Errorf("publisher %d: commit on top of %v, not of its base %q", i, ps, o.base)
		}
	}
	if len(history) != n {
		t.Errorf("history has %d commits, want %d", len(history), n)
	}
	head, _ := fake.Git("rev-parse", "pins")
	line := 0
	for c := head; c != "" && line <= n; line++ {
		ps := history[c]
		if len(ps) > 1 {
			t.Errorf("commit %s has %d parents; history must be linear", c, len(ps))
		}
		c = ""
		if len(ps) > 0 {
			c = ps[0]
		}
	}
	if line != n {
		t.Errorf("the line from the head holds %d commits, want all %d", line, n)
	}
	if fake.ForcedUpdates() != 0 {
		t.Errorf("%d ref updates asked for force", fake.ForcedUpdates())
	}
}
