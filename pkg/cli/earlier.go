package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/kept"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/verdicts"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

// earlierSite is the previous publish's pins.json, read at most once per
// round for both the verdicts on its pins (verifyPins) and the immutable
// bundles it lists (keptBundles). Pages mode reads it from the live site,
// since a deploy replaces the whole site; the other modes from --out. Branch
// mode reads the verdicts from the pins.json at the branch's root, the one
// of the head this round publishes on top of, so that a fresh runner reuses
// them, and those of --out when the branch has none that serve (a branch
// written by an older version).
type earlierSite struct {
	src  kept.Source
	read *kept.Earlier
	// branch is the branch's head in branch mode (nil otherwise), and
	// branchRead its pins.json once branchIn is closed (prefetchBranch).
	branch     kept.Source
	branchRead *kept.Earlier
	branchIn   chan struct{}
	// index is its index.html (nil: none), or indexErr why it could not
	// be read, once indexRead; read by forChanged.
	index     []byte
	indexErr  error
	indexRead bool
	// manifestIn and indexIn are closed when prefetch has read pins.json
	// and index.html; nil when no prefetch is under way. It reads through
	// ahead, which is src with the lines of its retries held in log.
	manifestIn, indexIn chan struct{}
	ahead               kept.Source
	// bundles reads the earlier immutable bundles of a site that is not
	// --out ahead of keptBundles (nil: read when asked).
	bundles *readAhead
	log     heldLog
	rep     reporter
}

func newEarlierSite(cfg *config.Config, env Env, rep reporter, pub publisher) *earlierSite {
	e := &earlierSite{src: kept.Dir(cfg.Out), ahead: kept.Dir(cfg.Out), rep: rep}
	at := pub.earlier(cfg, env, rep, heldReporter{rep, &e.log})
	e.branch = at.head
	if at.src != nil {
		// A site elsewhere than --out, replaced as a whole by a publish:
		// its earlier bundles are read during the walk.
		e.src, e.ahead = at.src, at.ahead
		e.bundles = newReadAhead(e.ahead)
	}
	return e
}

// earlierNeeds is what of the previous publish's site a round will read,
// for prefetch: pins.json whole (the verdicts; in pages and dir modes
// whether the site changed) or its start (the earlier bundles), and
// index.html (whether the site changed, when it has a URL). A guess wrong
// costs time only: whatever was not prefetched is read when asked for.
func earlierNeeds(cfg *config.Config, branchMode bool) (whole, start, index bool) {
	whole = !branchMode || cfg.Verify != verify.Off && !cfg.Reverify
	start = cfg.KeepBundles > 1
	index = !branchMode && (cfg.Mode == config.ModePages || cfg.Mode == config.ModeS3 || cfg.Repo != "" || cfg.PagesURL != "")
	return whole, start, index
}

// prefetch starts reading pins.json (whole, or its start) then, withIndex
// and if there was a pins.json, index.html, while the round reads the pins
// and walks closures: neither depends on the other. Whatever asks for them
// later waits for these reads, and reads itself what they did not; wait
// must be called before the round writes --out and before it ends.
func (e *earlierSite) prefetch(ctx context.Context, whole, withIndex bool, keep int) {
	manifest, index := make(chan struct{}), make(chan struct{})
	e.manifestIn, e.indexIn = manifest, index
	go func() {
		// Each close publishes the fields set before it to the round's
		// goroutine.
		defer close(index)
		read := kept.Read(ctx, e.ahead, kept.DefaultLimits, whole)
		e.read = read
		close(manifest)
		if withIndex && read.Err == nil {
			e.index, e.indexErr = getIndex(ctx, e.ahead)
			e.indexRead = true
		}
		// After index.html, which over HTTP/1.1 then leaves them its
		// connection.
		if refs, err := read.List(); err == nil && e.bundles != nil && keep > 1 {
			// One more than kept: this publish's own bundle, which is
			// not read, may be among them.
			e.bundles.bundles(ctx, refs, keep, kept.DefaultLimits.Bundle)
		}
	}()
}

// waitManifest returns once a prefetch under way has read pins.json, and
// logs its lines so far: where it would have logged them had it read then.
func (e *earlierSite) waitManifest() {
	if e.manifestIn != nil {
		<-e.manifestIn
		e.manifestIn = nil
	}
	e.log.flush(e.rep)
}

// prefetchBranch starts reading the pins.json of the branch's head, just
// read, while the round reads the pins: the walk needs it before it can
// start. Not in branch mode, or with no verdicts to reuse, it does nothing.
func (e *earlierSite) prefetchBranch(ctx context.Context, cfg *config.Config) {
	if e.branch == nil || cfg.Verify == verify.Off || cfg.Reverify || e.branchIn != nil {
		return
	}
	in := make(chan struct{})
	e.branchIn = in
	go func() {
		defer close(in) // publishes branchRead
		e.branchRead = kept.Read(ctx, e.branch, branchLimits(), true)
	}()
}

// getBranch is the branch's pins.json, as prefetchBranch read it or read now.
func (e *earlierSite) getBranch(ctx context.Context) *kept.Earlier {
	if e.branchIn != nil {
		<-e.branchIn
	} else if e.branchRead == nil {
		e.branchRead = kept.Read(ctx, e.branch, branchLimits(), true)
	}
	return e.branchRead
}

// wait returns once a prefetch under way is done, and logs its lines.
func (e *earlierSite) wait() {
	e.waitManifest()
	if e.branchIn != nil {
		<-e.branchIn
	}
	if e.indexIn != nil {
		<-e.indexIn
		e.indexIn = nil
	}
	if e.bundles != nil {
		e.bundles.wait() // started before indexIn closed
	}
	e.log.flush(e.rep)
}

// get reads pins.json, whole for the verdicts or else its start, unless an
// earlier call or the prefetch read enough of it.
func (e *earlierSite) get(ctx context.Context, whole bool) *kept.Earlier {
	e.waitManifest()
	if e.read == nil || whole && e.read.Limit < kept.DefaultLimits.Whole {
		e.read = kept.Read(ctx, e.src, kept.DefaultLimits, whole)
	}
	return e.read
}

// files are the previous site's files read whole, and what the site was
// made on: what a publisher that puts them back after a failure need not
// read again. pins.json found missing is held as nil.
func (e *earlierSite) files() map[string][]byte {
	files := map[string][]byte{}
	switch {
	case e.read != nil && e.read.Whole():
		files[site.Manifest] = e.read.Data
	case e.read != nil && errors.Is(e.read.Err, kept.ErrNotFound):
		files[site.Manifest] = nil
	}
	if e.indexRead && e.indexErr == nil && e.index != nil {
		files[site.Index] = e.index
	}
	return files
}

// indexLimit bounds the previous index.html read; the page is ~15 KB at any
// pin count.
const indexLimit = 1 << 20

// forChanged reads, before this publish writes --out, what changed compares
// with: the whole pins.json and, when withIndex, index.html.
func (e *earlierSite) forChanged(ctx context.Context, withIndex bool) {
	e.wait()
	if e.get(ctx, true).Err != nil || !withIndex || e.indexRead {
		return
	}
	e.index, e.indexErr = getIndex(ctx, e.src)
	e.indexRead = true
}

// getIndex reads index.html from src: nil when there is none.
func getIndex(ctx context.Context, src kept.Source) ([]byte, error) {
	data, err := src.Get(ctx, site.Index, indexLimit)
	switch {
	case errors.Is(err, kept.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case len(data) > indexLimit:
		return nil, fmt.Errorf("%s: %w of %d bytes", site.Index, kept.ErrTooLarge, indexLimit)
	}
	return data, nil
}

// changed reports whether the site written to out, listing bundles in its
// pins.json and with index (nil: none written), differs from the previous
// publish's, as forChanged read it: in pins.json (the pins, their verdicts,
// and the bundle list: this publish's bundle, named by a hash of its
// content, then the earlier ones the site keeps serving), or in index.html,
// which shows the version, the URLs and whether the one-name bundles are
// built. A pins.json too large to read whole is compared by its bundle list.
// A previous site that cannot be read is a change. why says so in a few
// words.
func (e *earlierSite) changed(out string, bundles []site.BundleRef, index []byte) (changed bool, why string) {
	at := " of the previous publish at " + e.src.String()
	if e.read == nil || e.read.Err != nil {
		err := errors.New("not read")
		if e.read != nil {
			err = e.read.Err
		}
		if errors.Is(err, kept.ErrNotFound) {
			return true, "a first publish: no " + site.Manifest + " at " + e.src.String()
		}
		return true, fmt.Sprintf("nothing to compare with: %v", err)
	}
	if e.read.Whole() {
		now, err := os.ReadFile(filepath.Join(out, site.Manifest))
		if err != nil {
			return true, fmt.Sprintf("this publish's %s cannot be compared: %v", site.Manifest, err)
		}
		if !bytes.Equal(now, e.read.Data) {
			return true, site.Manifest + " (the pins, their verdicts or the bundles) differs from that" + at
		}
	} else if refs, err := e.read.List(); err != nil || !slices.Equal(refs, bundles) {
		return true, "the bundle or the earlier bundles kept differ from those" + at
	}
	switch {
	case index == nil:
		// An index.html not written is not replaced.
		return false, "the same " + site.Manifest + " as that" + at
	case e.indexErr != nil:
		return true, fmt.Sprintf("the previous %s could not be read: %v", site.Index, e.indexErr)
	case !bytes.Equal(e.index, index):
		return true, site.Index + " differs from that" + at
	}
	return false, "the same " + site.Manifest + " and " + site.Index + " as those" + at
}

// verifyClosures classifies the closures of paths, reusing the verdicts of
// the previous publish that pkg/verdicts trusts unless --reverify. A
// previous pins.json that is missing, damaged or not comparable is a
// notice and a walk of every closure, never a failure.
func verifyClosures(ctx context.Context, cfg *config.Config, env Env, rep reporter, prev *earlierSite, paths []string, opts verify.Options, meta bundle.Meta) (*verdicts.Outcome, error) {
	now := env.Retry.WithDefaults().Now()
	rule := verdicts.Rule{Substituter: meta.Substituter, Upstream: cfg.Upstream, MaxAge: cfg.ReverifyAfter, Now: now, Sample: verdicts.Sample}
	earlier, from, err := earlierVerdicts(ctx, cfg, rep, prev, rule)
	switch {
	case cfg.Reverify:
		rep.Logf("verification: --reverify: walking every closure")
	case err != nil:
		rep.Logf("notice: verification: no verdicts to reuse from %s: %v; walking every closure", from, err)
	}
	plan := earlier.Plan(paths, rule)
	out, err := verdicts.Verify(ctx, opts, plan, now)
	if err != nil {
		return nil, err
	}
	if len(out.Gone) > 0 {
		rep.Warnf("verification: %d of the %d reused verdicts spot-checked name a path no longer where they say (such as %s): walked every closure again",
			len(out.Gone), out.Checked, out.Gone[0])
	}
	more := ""
	if out.Checked > 0 {
		more += fmt.Sprintf("; %d reused paths spot-checked", out.Checked)
	}
	if plan.Expired > 0 {
		more += fmt.Sprintf("; %d verdicts older than --reverify-after %s walked again", plan.Expired, cfg.ReverifyAfter)
	}
	rep.Logf("verification: reused %s from %s, walked %s (%s)%s",
		count(out.Reused, "verdict"), from, count(out.Walked, "closure"), count(int(out.Requests), "narinfo request"), more)
	return out, nil
}

// branchLimits bound the read of the branch's pins.json: whole, as
// kept.DefaultLimits.Whole bounds it, and within a budget of its own. It is
// the publish's own repository, which has to answer for the publish anyway,
// and the walk a lost read costs is long (some 35 s for 10,000 pins 50 ms
// away), so the budget is ten times the live site's.
func branchLimits() kept.Limits {
	l := kept.DefaultLimits
	l.List *= 10
	return l
}

// earlierVerdicts are the previous publish's verdicts and where they were
// read, nil with --reverify or with an error saying why there are none. In
// branch mode they are the branch's, or else, with a notice saying why, those
// of --out.
func earlierVerdicts(ctx context.Context, cfg *config.Config, rep reporter, prev *earlierSite, rule verdicts.Rule) (*verdicts.Earlier, string, error) {
	from := prev.src.String()
	if prev.branch != nil {
		from = prev.branch.String()
	}
	if cfg.Reverify {
		return nil, from, nil
	}
	if prev.branch == nil {
		e, err := parseVerdicts(prev.get(ctx, true), rule)
		return e, from, err
	}
	e, err := parseVerdicts(prev.getBranch(ctx), rule)
	if err == nil {
		return e, from, nil
	}
	e, outErr := parseVerdicts(prev.get(ctx, true), rule)
	if outErr != nil {
		return nil, from, fmt.Errorf("%w, nor from %s: %w", err, prev.src, outErr)
	}
	rep.Logf("notice: verification: no verdicts to reuse from %s: %v; reusing those of %s", from, err, prev.src)
	return e, prev.src.String(), nil
}

// parseVerdicts are the verdicts of read that match rule.
func parseVerdicts(read *kept.Earlier, rule verdicts.Rule) (*verdicts.Earlier, error) {
	if read.Err != nil {
		var nse *kept.NoSiteError
		if errors.As(read.Err, &nse) {
			return nil, nse.Err
		}
		return nil, read.Err
	}
	if !read.Whole() {
		return nil, fmt.Errorf("%s is larger than %d bytes", site.Manifest, read.Limit)
	}
	e, err := verdicts.Parse(read.Data)
	if err == nil {
		err = e.Match(rule)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", site.Manifest, err)
	}
	return e, nil
}

// bundleSource is where keptBundles reads the earlier bundles.
func (e *earlierSite) bundleSource() kept.Source {
	if e.bundles != nil {
		return e.bundles
	}
	return e.src
}
