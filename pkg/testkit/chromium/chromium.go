// Package chromium starts a headless Chromium for tests that render what users see in a
// browser (the outcome report, decision letters). Chromium is a prerequisite of the tests
// (README, "Quick start"; CI installs it).
package chromium

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// Start starts a headless Chromium for the test and returns its context; it is stopped when the
// test ends. A start that fails is tried once more: Chromium occasionally crashes while starting
// on a loaded machine (seen once in a run of the service tests, with nothing in its output but
// crashpad's "no stack mapping"), which says nothing about the page it is to render.
func Start(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.Flag("headless", true), chromedp.DisableGPU)
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		// The first Run starts the browser (its context must have no timeout of its own).
		if err = chromedp.Do(bctx); err == nil {
			t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
			return bctx
		}
		cancelBrowser()
		cancelAlloc()
		t.Logf("start headless chromium, attempt %d: %v", attempt, err)
	}
	t.Fatalf("start headless chromium: %v", err)
	return nil
}
