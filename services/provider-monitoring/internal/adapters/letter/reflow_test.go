package letter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wijkbrug/wijkbrug/pkg/testkit/chromium"

	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/letter"
)

// TestHTMLReflowsAt320CSSPixels renders every sample letter in headless Chromium in a viewport
// of 320 CSS px (WCAG 1.4.10: 1280 px at 400 % zoom) and checks that the page does not scroll
// sideways: the goals table with the longest ZRM life domains must fit too. Chromium is a
// prerequisite of the tests, as for the outcome report (README, "Quick start"; CI installs it).
func TestHTMLReflowsAt320CSSPixels(t *testing.T) {
	long := wmoGranted()
	long.Motivation.Goals[0].LifeDomain = "Maatschappelijke participatie"
	long.Motivation.Goals[1].LifeDomain = "Lichamelijke gezondheid"
	pages := map[string][]byte{"long life domains": must(letter.HTML(long))}
	for _, c := range cases() {
		pages[c.name] = must(letter.HTML(c.letter))
	}
	// Each letter at a path of its own, fixed before the server starts: the browser may still
	// ask for something of the last page (its favicon) while the next one loads, so the
	// handler reads only what no one writes any more.
	byPath := map[string][]byte{}
	pathOf := map[string]string{}
	for name, p := range pages {
		path := "/" + strconv.Itoa(len(byPath))
		byPath[path], pathOf[name] = p, path
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}))
	t.Cleanup(srv.Close)

	bctx := chromium.Start(t)
	for name := range pages {
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		type widths struct{ Scroll, Client int }
		err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 640), chromedp.Navigate(srv.URL+pathOf[name]))
		var width widths
		if err == nil {
			width, err = chromedp.Run(ctx, chromedp.Evaluate[widths](`({Scroll: document.documentElement.scrollWidth, Client: document.documentElement.clientWidth})`))
		}
		cancel()
		if err != nil {
			t.Fatalf("%s: headless chromium: %v", name, err)
		}
		if width.Client != 320 || width.Scroll > width.Client {
			t.Errorf("%s: at 320 CSS px the page is %d px wide (viewport %d): it scrolls sideways", name, width.Scroll, width.Client)
		}
	}
}
