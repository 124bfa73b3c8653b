package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/config"
	"github.com/kwbauson/create-pin-refs/pkg/kept"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/netrc"
	"github.com/kwbauson/create-pin-refs/pkg/publish/pages"
	s3pub "github.com/kwbauson/create-pin-refs/pkg/publish/s3"
	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/source/s3pins"
)

// s3Publisher publishes the site written to --out to a bucket prefix.
type s3Publisher struct {
	bucket *s3bucket.Bucket
	hc     *http.Client // reads the site as consumers do
	rep    reporter
	force  bool        // --force-prefix
	base   *s3pub.Base // the marker read before the pins, each round
	// lock is the prefix's lock, held from a lost race on: the rounds after
	// it read the marker and the pins under it, so that they lose no more.
	lock     *s3pub.Lock
	lockOpts s3pub.LockOptions
}

// s3Rounds bounds how many times a run reads the pins and publishes while
// other publishes write the prefix after it read its marker.
const s3Rounds = 5

func newS3Publisher(ctx context.Context, cfg *config.Config, env Env, rep reporter) (*s3Publisher, error) {
	b, err := openBucket(ctx, env, "s3-url", cfg.S3URL, cfg.S3Endpoint)
	if err != nil {
		return nil, err
	}
	hc := env.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: siteCheckTime}
	}
	p := &s3Publisher{bucket: b, hc: hc, rep: rep, force: cfg.ForcePrefix}
	p.lockOpts = s3pub.LockOptions{Holder: holder(env), Log: rep.Logf}
	return p, nil
}

// holder names this run in the prefix's lock: its GitHub Actions run, or
// its host and process.
func holder(env Env) string {
	if server, repo, id := env.Getenv("GITHUB_SERVER_URL"), env.Getenv("GITHUB_REPOSITORY"), env.Getenv("GITHUB_RUN_ID"); server != "" && repo != "" && id != "" {
		return server + "/" + repo + "/actions/runs/" + id
	}
	host, err := os.Hostname()
	if err != nil {
		host = "a host"
	}
	return fmt.Sprintf("create-pin-refs on %s (process %d)", host, os.Getpid())
}

// readBase reads the prefix's marker before the pins are read: the site is
// published on top of that state only (a publish landing in between is a
// lost race, and the pins are read again), and a missing bucket, refused
// credentials or a prefix that is not ours stop the run before any work.
func (p *s3Publisher) readBase(ctx context.Context) (err error) {
	if p.base, err = s3pub.ReadBase(ctx, p.bucket, p.force); err != nil {
		return fmt.Errorf("reading %s: %w", p.bucket, err)
	}
	return nil
}

// earlier is the prefix as the previous publish's site, for its verdicts,
// its immutable bundles and whether this publish changes it.
func (p *s3Publisher) earlier(*config.Config, Env, reporter, reporter) earlierAt {
	return earlierAt{src: s3Source{p.bucket}, ahead: s3Source{p.bucket}}
}

func (p *s3Publisher) served(cfg *config.Config, res *Result) (err error) {
	if res.URL, err = pages.PagesURL("", cfg.SiteURL); err != nil {
		return fmt.Errorf("%w: --site-url: %w", config.ErrUsage, err)
	}
	return nil
}

func (p *s3Publisher) title() string { return "Publishing to " + p.bucket.String() }

// publish uploads the site that writeSite wrote: what changed, with the
// immutable link of this publish's bundle on the mutable tarballs.
func (p *s3Publisher) publish(ctx context.Context, cfg *config.Config, out rendered) error {
	res := out.res
	files := make(map[string][]byte, len(res.written)+1)
	for name, data := range res.written {
		if name != site.Headers { // S3 sends them as object metadata
			files[name] = data
		}
	}
	manifest, err := os.ReadFile(filepath.Join(cfg.Out, site.Manifest))
	if err != nil {
		return fmt.Errorf("reading the site's %s: %w", site.Manifest, err)
	}
	files[site.Manifest] = manifest
	link := ""
	if res.lockURL != "" {
		link = "<" + res.lockURL + `>; rel="immutable"`
	}
	r, err := s3pub.Publish(ctx, p.bucket, s3pub.Options{Files: files, Link: link, Force: cfg.ForcePrefix, Previous: out.earlier, Check: cfg.Reverify, Base: p.base, Lock: p.lock, LockOptions: p.lockOpts})
	if err != nil {
		return fmt.Errorf("publishing to %s: %w", p.bucket, err)
	}
	res.Changed, res.bucket = r.Changed, p.bucket.Location().String()
	for _, w := range r.Warnings {
		p.rep.Warnf("%s", w)
	}
	defer p.checkServed(ctx, res.URL, manifest, out.earlier[site.Manifest])
	switch {
	case r.Listed && len(r.Stale) == 0: // by --reverify, or a lock taken over
		p.rep.Logf("listed %s: every object of earlier publishes is there as written", p.bucket)
	case len(r.Stale) > 0:
		p.rep.Logf("listed %s: %s gone or holding other content (deleted or written over by hand, or by a publish stopped midway), written again: %s",
			p.bucket, count(len(r.Stale), "object"), someNames(r.Stale, 10))
	}
	if !r.Changed {
		p.rep.Logf("%s already holds this site: nothing written (%d objects unchanged)", p.bucket, r.Unchanged)
		return nil
	}
	p.rep.Logf("published to %s: %s written (%d bytes) and the marker, %d deleted, %d unchanged; %d read first, to put back on a failure", p.bucket, count(r.Put, "object"), r.BytesPut, r.Deleted, r.Unchanged, r.Read)
	return nil
}

// someNames joins the first most of names, and says how many more.
func someNames(names []string, most int) string {
	s := strings.Join(names[:min(len(names), most)], ", ")
	if len(names) > most {
		s += fmt.Sprintf(" and %d more", len(names)-most)
	}
	return s
}

// siteCheckTime bounds the read of the published pins.json at --site-url.
const siteCheckTime = 30 * time.Second

// checkServed reads pins.json at the site's URL as a consumer would, once
// the prefix holds it, and warns when it is not served there: a bucket that
// refuses anonymous reads, or a --site-url that names another place. The
// previous publish's pins.json (previous, as read from the prefix) is what
// a CDN in front of the bucket may serve for up to its max-age (60 s): a
// notice; any other is another site's.
func (p *s3Publisher) checkServed(ctx context.Context, pinsURL string, manifest, previous []byte) {
	u := strings.TrimSuffix(pinsURL, site.Tarball) + site.Manifest
	ctx, cancel := context.WithTimeout(ctx, siteCheckTime)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		p.rep.Warnf("consumers could not read the site: GET %s: %v; check --site-url, the bucket's public access or the CDN in front of it", u, err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max(len(manifest), len(previous)))+1))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		p.rep.Warnf("consumers cannot read the site: GET %s answers %s without credentials; allow public reads of the prefix (s3:GetObject for everyone, a bucket policy), or serve it through a CDN, and check --site-url", u, resp.Status)
	case resp.StatusCode != http.StatusOK:
		p.rep.Warnf("--site-url does not serve this publish: GET %s answers %s; give the prefix's public URL (its website, CDN or path-style URL)", u, resp.Status)
	case err == nil && bytes.Equal(body, manifest):
	case err == nil && previous != nil && bytes.Equal(body, previous):
		p.rep.Logf("notice: %s is still the previous publish's pins.json: a cache in front of the bucket may keep it for up to 60 s", u)
	default:
		p.rep.Warnf("--site-url does not serve this publish: GET %s answers a pins.json that is neither this publish's nor the previous one of %s, so --site-url names another site (or a cache in front of the bucket keeps an older one); give the prefix's public URL (its website, CDN or path-style URL)", u, p.bucket)
	}
}

// again decides, after round's err, whether to read the pins again: another
// publish wrote the prefix after this round read its marker. The next
// round holds the prefix's lock, taken once the other publish is done; the
// lock is released with the last round.
func (p *s3Publisher) again(ctx context.Context, _ Env, round int, _ *Result, err error) (bool, error) {
	if errors.Is(err, s3pub.ErrRaced) && round < s3Rounds {
		p.rep.Logf("notice: %v; reading the pins again, under the prefix's lock", err)
		if p.lock != nil {
			return true, nil
		}
		if p.lock, err = s3pub.Acquire(ctx, p.bucket, p.lockOpts); err == nil {
			return true, nil
		}
	}
	if rerr := p.lock.Release(ctx); rerr != nil {
		p.rep.Warnf("%v", rerr)
	}
	p.lock = nil
	if errors.Is(err, s3pub.ErrRaced) {
		return false, fmt.Errorf("%w; other publishes wrote it in each of %d rounds of reading the pins: run this job again once they are done, or publish from one job", err, round)
	}
	return false, err
}

// s3Source reads names of the prefix as a kept.Source.
type s3Source struct{ b *s3bucket.Bucket }

func (s s3Source) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	obj, err := s.b.Get(ctx, name, limit+1)
	switch {
	case errors.Is(err, s3bucket.ErrNotFound):
		return nil, alsoIs{err, kept.ErrNotFound}
	case errors.Is(err, s3bucket.ErrTooLarge):
		return nil, alsoIs{err, kept.ErrTooLarge}
	case err != nil:
		return nil, err
	}
	return obj.Body, nil
}

func (s s3Source) String() string { return s.b.String() }

// pinInS3 makes the pin of `pin --store`: the object pins/NAME of the S3
// cache, once the cache holds the path's narinfo: read through the S3 API,
// or from --substituter when given (the URL consumers substitute from).
func pinInS3(ctx context.Context, cfg *config.Pin, env Env, rep reporter, r pinRequest, creds *netrc.File) error {
	storePath, err := checkPin(r)
	if err != nil {
		return err
	}
	b, err := openBucket(ctx, env, "store", cfg.Store, cfg.S3Endpoint)
	if err != nil {
		return err
	}
	auth := cacheAuth{netrc: creds}
	p := &pinner{cache: cfg.Store, binary: bucketCache{b}, auth: auth, rep: rep}
	if cfg.Substituter != "" {
		opts := auth.options(cfg.Substituter, false)
		opts.UserAgent, opts.Policy = "create-pin-refs/"+env.Version, retryPolicy(env, rep)
		if p.binary, err = narinfo.New(cfg.Substituter, opts); err != nil {
			return fmt.Errorf("%w: --substituter: %w", config.ErrUsage, err)
		}
	}
	n, err := p.inCache(ctx, storePath)
	switch {
	case errors.Is(err, narinfo.ErrNotFound):
		return fmt.Errorf("pin %q: %s is not in the binary cache at %s: copy it there first (nix copy --to '%s' %s)", r.Name, storePath, p.binary.URL(), s3Store(cfg.Store, cfg.S3Endpoint), storePath)
	case err != nil:
		return fmt.Errorf("pin %q: %w", r.Name, err)
	}
	if err := checkSignature(rep, cfg.PublicKeys, n, cfg.Store); err != nil {
		return fmt.Errorf("pin %q: %w", r.Name, err)
	}
	if err := s3pins.Write(ctx, b, r.Name, storePath); err != nil {
		return fmt.Errorf("pin %q: %w", r.Name, err)
	}
	rep.Logf("pinned %s to %s in %s", r.Name, storePath, b.Location())
	return nil
}

// checkSignature checks the narinfo of a path pinned with --store: signed by
// one of keys, when given, as --pins-from will want; else, unsigned, it is a
// warning, since consumers' Nix requires a signature by default.
func checkSignature(rep reporter, keys []string, n *narinfo.NarInfo, store string) error {
	if n.CA != "" { // content-addressed: no signature needed
		return nil
	}
	if len(keys) > 0 {
		by, err := n.SignedBy(keys)
		switch {
		case err != nil:
			return fmt.Errorf("checking the signature of its narinfo: %w", err)
		case by == "":
			return unsigned(n, store, keys)
		}
		return nil
	}
	if len(n.Signers()) == 0 {
		rep.Warnf("the narinfo of %s carries no signature: consumers' Nix (require-sigs, its default) refuses to substitute it, and --pins-from refuses the pin; sign the path in the cache (nix store sign --store '%s' --key-file FILE %s), or copy it signed (nix copy --to '%s?secret-key=FILE'), and give --public-keys to check it here",
			n.StorePath, store, n.StorePath, store)
	}
	return nil
}
