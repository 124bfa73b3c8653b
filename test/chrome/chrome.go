// Package chrome starts Debian's headless Chromium for the browser test of the
// index page (test/browser) and for the page benchmark (go run ./bench), with
// the flags that keep it off the network and a fresh profile.
package chrome

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNotFound says that no Chromium is on PATH.
var ErrNotFound = errors.New("no chromium on PATH (apt-get install chromium; test/all.sh installs it as root)")

// Path returns the Chromium executable.
func Path() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Start starts a headless Chromium with a fresh profile and returns a tab's
// context; stop closes the browser, waits for it and removes the profile.
func Start(ctx context.Context) (tab context.Context, stop func(), err error) {
	path, err := Path()
	if err != nil {
		return nil, nil, err
	}
	profile, err := os.MkdirTemp("", "cpr-chromium-*")
	if err != nil {
		return nil, nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	stop = func() {
		_ = chromedp.Cancel(tab) // closes the browser and waits for it
		cancelTab()
		cancelAlloc()
		for range 50 { // Chromium may still be flushing its profile
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := chromedp.Run(tab); err != nil {
		stop()
		return nil, nil, fmt.Errorf("starting chromium: %w", err)
	}
	return tab, stop, nil
}

// statusPattern is the finder's status once it has every name of the chosen
// systems and no search: "N of N names".
var statusPattern = regexp.MustCompile(`^(\d+) of (\d+) names`)

// Open loads the index page at url and waits until the finder has loaded every
// name; it returns how long that took and how many names there are.
func Open(tab context.Context, url string, timeout time.Duration) (time.Duration, string, error) {
	start := time.Now()
	var status string
	err := chromedp.Run(tab,
		chromedp.Navigate(url),
		chromedp.WaitVisible("#q", chromedp.ByID),
		chromedp.Poll(`(m => m !== null && m[1] === m[2])(document.getElementById("status").textContent.match(/^(\d+) of (\d+) names/))`, nil, chromedp.WithPollingTimeout(timeout)),
		chromedp.Text("#status", &status, chromedp.ByID),
	)
	took := time.Since(start)
	if err != nil {
		return 0, status, fmt.Errorf("opening %s (status %q): %w", url, status, err)
	}
	m := statusPattern.FindStringSubmatch(status)
	if m == nil {
		return 0, status, fmt.Errorf("opening %s: unexpected status %q", url, status)
	}
	return took, m[1], nil
}
