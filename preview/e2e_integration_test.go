//go:build integration

package preview

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The end-to-end test drives the preview page in real headless Chromium
// (Debian's chromium package) and checks it with axe-core (from npm).
// scripts/test-services.sh installs both and names them in .test-env;
// without them the test fails, saying what is missing.
//
// Set QUIRE_TEST_SCREENSHOTS to a directory to keep screenshots of each
// state of the page.

func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("QUIRE_TEST_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Chromium is not installed at %s, so the preview page cannot be tested end to end: "+
			"run scripts/test-services.sh (or apt-get install chromium), or set QUIRE_TEST_CHROMIUM", path)
	}
	return path
}

func axeSource(t *testing.T) string {
	t.Helper()
	return string(npmFile(t, "axe-core", "axe.min.js"))
}

// browser starts headless Chromium as root can run it: no sandbox, no
// network of its own, a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// do runs steps, failing the test with what it was doing.
func do(t *testing.T, ctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// eval evaluates JavaScript in the page, waiting for a promise's value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %.60q: %v", expr, err)
	}
	return v
}

// waitFor waits, in the page rather than in Go, until a JavaScript
// expression is true.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))
}

// axeViolation is the part of an axe-core result a failure message needs.
type axeViolation struct {
	ID    string `json:"id"`
	Help  string `json:"help"`
	Nodes []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkAccessibility runs every axe-core rule on the page as it is now
// and fails on any violation.
func checkAccessibility(t *testing.T, ctx context.Context, axe, state string) {
	t.Helper()
	if !eval[bool](t, ctx, axe+";typeof axe === 'object'") {
		t.Fatal("axe-core did not load in the page")
	}
	out := eval[string](t, ctx, `axe.run(document).then(r => JSON.stringify({v: r.violations, n: r.passes.length}))`)
	var res struct {
		V []axeViolation `json:"v"`
		N int            `json:"n"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.N < 10 {
		t.Errorf("%s: axe-core passed only %d rules: did it see the page?", state, res.N)
	}
	for _, v := range res.V {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprintf("%v: %s", n.Target, n.Summary))
		}
		t.Errorf("%s: axe-core: %s (%s)\n  %s", state, v.ID, v.Help, strings.Join(where, "\n  "))
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("QUIRE_TEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// previewImage is the preview image's source once it has loaded, or "".
const previewImage = `(() => {
	const img = document.querySelector("#preview img");
	return img && img.complete && img.naturalWidth === 800 ? img.src : "";
})()`

// previewSays is true when the text alternative holds every one of words.
func previewSays(words ...string) string {
	quoted, _ := json.Marshal(words)
	return `(() => { const dl = document.querySelector("#preview dl");
		return !!dl && ` + string(quoted) + `.every(w => dl.innerText.includes(w)); })()`
}

// typeDayWithoutMonth clears the month and types a day, which the page
// cannot preview, and waits for the panel to say why.
func typeDayWithoutMonth(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "typing a day without a month",
		chromedp.Focus(chromedp.ID("dateOfLoss-month")),
		chromedp.Evaluate[chromedp.Void](`document.activeElement.select()`),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.SendKeys(chromedp.ID("dateOfLoss-day"), "27"),
		waitFor(`!!document.querySelector("#preview .preview__problems")`),
	)
}

func TestPreviewPageInChromium(t *testing.T) {
	axe := axeSource(t)
	s := newTestServer(t, Options{})
	srv := httptest.NewServer(s.mux)
	defer srv.Close()
	ctx := browser(t)

	// The empty certificate, with its text alternative.
	do(t, ctx, "opening the page",
		chromedp.Navigate(srv.URL+"/preview"),
		chromedp.WaitVisible(chromedp.CSS("#preview img")),
		waitFor(previewImage),
	)
	first := eval[string](t, ctx, previewImage)
	if !strings.HasPrefix(first, "data:image/png;base64,") {
		t.Fatalf("the first preview image is %.60q", first)
	}
	screenshot(t, ctx, "1-empty")
	checkAccessibility(t, ctx, axe, "the empty page")

	// Typing updates the preview without a submit: the script posts the
	// form and swaps the panel, and focus stays in the field.
	do(t, ctx, "typing the baby's name",
		chromedp.SendKeys(chromedp.ID("babyName"), "Robin"),
		waitFor(previewSays("Robin")),
		waitFor(previewImage),
	)
	if second := eval[string](t, ctx, previewImage); second == first || second == "" {
		t.Error("the preview image did not change as the baby's name was typed")
	}
	if focused := eval[string](t, ctx, `document.activeElement.id`); focused != "babyName" {
		t.Errorf("focus moved to %q while typing", focused)
	}
	if status := eval[string](t, ctx, `document.querySelector("#preview-status").textContent`); status != "Preview updated." {
		t.Errorf("the status message says %q", status)
	}

	do(t, ctx, "filling in the rest",
		chromedp.SendKeys(chromedp.ID("parentName"), "Hannah Whitlock"),
		chromedp.Click(chromedp.ID("sex-female")),
		chromedp.SendKeys(chromedp.ID("dateOfLoss-month"), "3"),
		chromedp.SendKeys(chromedp.ID("dateOfLoss-year"), "2024"),
		chromedp.SendKeys(chromedp.ID("placeOfLoss"), "Canterbury, Kent"),
		waitFor(previewSays("Hannah Whitlock", "Female", "March 2024", "Canterbury, Kent")),
		waitFor(previewImage),
	)
	screenshot(t, ctx, "2-filled")
	checkAccessibility(t, ctx, axe, "the filled-in page")

	// While the details cannot be printed, the panel says why.
	typeDayWithoutMonth(t, ctx)
	if focused := eval[string](t, ctx, `document.activeElement.id`); focused != "dateOfLoss-day" {
		t.Errorf("focus moved to %q while typing", focused)
	}
	screenshot(t, ctx, "3-problem-while-typing")
	checkAccessibility(t, ctx, axe, "the page with a problem while typing")

	// Submitted: the error summary, focused, linking to the month.
	do(t, ctx, "submitting a date without a month",
		chromedp.Click(chromedp.CSS(`button[type="submit"]:not([formaction])`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")),
		waitFor(`document.activeElement.classList.contains("error-summary")`),
	)
	if link := eval[string](t, ctx, `document.querySelector(".error-summary a").getAttribute("href")`); link != "#dateOfLoss-month" {
		t.Errorf("the error summary's first link goes to %q", link)
	}
	if title, _ := chromedp.Run(ctx, chromedp.Title()); !strings.HasPrefix(title, "Error: ") {
		t.Errorf("title %q", title)
	}
	screenshot(t, ctx, "4-error")
	checkAccessibility(t, ctx, axe, "the page with an error")

	// The link takes focus to the month.
	do(t, ctx, "following the error link",
		chromedp.Click(chromedp.CSS(".error-summary a")),
		waitFor(`document.activeElement.id === "dateOfLoss-month"`),
	)
}

// TestPreviewPageWithoutJavaScript: with scripts off, the form posts and
// the answer is the page with the preview.
func TestPreviewPageWithoutJavaScript(t *testing.T) {
	s := newTestServer(t, Options{})
	srv := httptest.NewServer(s.mux)
	defer srv.Close()
	ctx := browser(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "posting the form without JavaScript",
		chromedp.Navigate(srv.URL+"/preview"),
		chromedp.SendKeys(chromedp.ID("babyName"), "Robin"),
		chromedp.SendKeys(chromedp.ID("dateOfLoss-year"), "2019"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]:not([formaction])`)),
		// The page before posting has a summary list too, but no image:
		// the image is what says the answer to the post has arrived.
		chromedp.WaitVisible(chromedp.CSS(`#preview img`)),
		chromedp.WaitVisible(chromedp.CSS(`.summary-list`)),
	)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#preview dl")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Robin") || !strings.Contains(text, "2019") {
		t.Errorf("the preview after posting says:\n%s", text)
	}
	if n := eval[int](t, ctx, `document.querySelector("#preview img").naturalWidth`); n != 800 {
		t.Errorf("the preview image after posting is %d pixels wide", n)
	}
	screenshot(t, ctx, "5-no-javascript")
}

// TestPreviewPageInWelshInChromium drives the page in Welsh, reached by
// the switch in its header, with the Welsh and then the bilingual
// certificate, with a problem while typing and with the error summary:
// axe-core finds no violation in any of them.
func TestPreviewPageInWelshInChromium(t *testing.T) {
	axe := axeSource(t)
	s := newTestServer(t, Options{})
	srv := httptest.NewServer(s.mux)
	defer srv.Close()
	ctx := browser(t)

	do(t, ctx, "opening the page and switching to Cymraeg",
		chromedp.Navigate(srv.URL+"/preview"),
		chromedp.WaitVisible(chromedp.CSS(`a[hreflang="cy"]`)),
		chromedp.Click(chromedp.CSS(`a[hreflang="cy"]`)),
		// The English page links to Cymraeg; the Welsh page to English.
		chromedp.WaitVisible(chromedp.CSS(`a[hreflang="en"]`)),
	)
	do(t, ctx, "waiting for the Welsh page's preview",
		waitFor(`document.documentElement.lang === "cy"`),
		waitFor(previewImage),
		waitFor(previewSays("Blwch 5, Enw’r babi", "Gwag")),
	)
	if h1 := eval[string](t, ctx, `document.querySelector("h1").textContent`); h1 != "Gweld sut olwg fydd ar eich tystysgrif" {
		t.Errorf("the Welsh page's heading is %q", h1)
	}
	screenshot(t, ctx, "6-welsh-empty")
	checkAccessibility(t, ctx, axe, "the empty Welsh page")

	do(t, ctx, "filling in the Welsh certificate",
		chromedp.SendKeys(chromedp.ID("babyName"), "Ŵyn Llŷr"),
		chromedp.Click(chromedp.ID("sex-male")),
		chromedp.SendKeys(chromedp.ID("dateOfLoss-month"), "Tachwedd"),
		chromedp.SendKeys(chromedp.ID("dateOfLoss-year"), "2024"),
		waitFor(previewSays("Ŵyn Llŷr", "Gwryw", "Tachwedd 2024")),
		waitFor(previewImage),
	)
	if status := eval[string](t, ctx, `document.querySelector("#preview-status").textContent`); status != "Mae’r rhagolwg wedi’i ddiweddaru." {
		t.Errorf("the Welsh status message says %q", status)
	}
	checkAccessibility(t, ctx, axe, "the filled-in Welsh page")

	do(t, ctx, "choosing the bilingual certificate",
		chromedp.Click(chromedp.ID("language-2")),
		waitFor(previewSays("Rhyw / Sex", "Gwryw / Male", "Tachwedd 2024 / November 2024")),
		waitFor(previewImage),
	)
	screenshot(t, ctx, "7-bilingual")
	checkAccessibility(t, ctx, axe, "the Welsh page with the bilingual certificate")

	typeDayWithoutMonth(t, ctx)
	if p := eval[string](t, ctx, `document.querySelector("#preview .preview__problems").innerText`); !strings.Contains(p, "Dyddiad y golled: rhaid iddo gynnwys mis") {
		t.Errorf("the problem while typing reads %q", p)
	}
	checkAccessibility(t, ctx, axe, "the Welsh page with a problem while typing")

	do(t, ctx, "submitting a date without a month",
		chromedp.Click(chromedp.CSS(`button[type="submit"]:not([formaction])`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")),
		waitFor(`document.activeElement.classList.contains("error-summary")`),
	)
	if title, _ := chromedp.Run(ctx, chromedp.Title()); !strings.HasPrefix(title, "Gwall: ") {
		t.Errorf("the Welsh title with an error is %q", title)
	}
	if summary := eval[string](t, ctx, `document.querySelector(".error-summary").innerText`); !strings.Contains(summary, "Mae problem wedi codi") {
		t.Errorf("the Welsh error summary reads %q", summary)
	}
	if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "cy" {
		t.Errorf("after posting, the page's language is %q", lang)
	}
	screenshot(t, ctx, "8-welsh-error")
	checkAccessibility(t, ctx, axe, "the Welsh page with an error")
}
