package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// uiJob is the job the UI test runs from the Run page: a raw_exec shell that
// prints a marker line every second. E2E_RUN lets killLeftovers find it.
const uiJob = `job "e2e-ui" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 1

    task "marker" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "i=0; while true; do i=$((i+1)); echo ui-marker $i; echo ui-err $i >&2; sleep 1; done"]
      }

      env {
        E2E_RUN = "%s"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// uiBadJob does not parse: the Plan button must show where and why.
const uiBadJob = `job "broken" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = 
      }
    }
  }
}
`

// chromiumPath finds Debian's chromium, or skips (fails under
// NOMADLIKE_REQUIRE_ALL=1) when it is missing.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium in PATH: the UI browser test needs it (scripts/test-deps.sh installs Debian's chromium)"
	if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
		t.Fatal(msg + "; NOMADLIKE_REQUIRE_ALL=1 makes a missing prerequisite a failure")
	}
	t.Skip(msg)
	return ""
}

// browser is one headless chromium tab driven by chromedp, with the page's
// console collected so that script errors fail the test.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab; never given a timeout (it would end the browser)

	mu       sync.Mutex
	problems []string // uncaught exceptions and CSP violations
	logs     []string
}

func newBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Chromium looks up Google hosts at start; keep every lookup on loopback.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &browser{t: t, ctx: ctx}
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil { // starts the browser and the tab
		cancelTab()
		cancelAlloc()
		t.Fatalf("start chromium %s: %v", execPath, err)
	}
	t.Logf("chromium started in %s", time.Since(start).Round(time.Millisecond))

	consoleCtx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(consoleCtx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			line := fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1)
			b.logs = append(b.logs, line)
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				b.problems = append(b.problems, line)
			}
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		stopConsole()
		<-done
		cancelTab()
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		if t.Failed() && len(b.logs) > 0 {
			t.Logf("browser console:\n%s", strings.Join(b.logs, "\n"))
		}
	})
	return b
}

// do runs steps with a deadline, failing the test with what was being done.
func (b *browser) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// waitJS waits until the JavaScript expression is truthy (polled by the
// browser on every DOM change), failing with what was awaited on timeout.
func (b *browser) waitJS(what string, timeout time.Duration, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		b.fail("wait for "+what, err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.fail("read the text of "+sel, err)
	}
	return s
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.fail("evaluate "+expr, err)
	}
	return s
}

// fail stops the test with the step, the error, the page's main text and a
// screenshot of what the browser showed.
func (b *browser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.querySelector("main").innerText`))
	if png, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100)); serr == nil {
		p := filepath.Join(b.t.TempDir(), "failure.png")
		if os.WriteFile(p, png, 0o644) == nil {
			b.t.Logf("screenshot at failure: %s", p)
			copyArtifact(b.t, p)
		}
	}
	b.t.Fatalf("%s: %v\npage:\n%s", what, err, page)
}

// checkConsole fails the test on uncaught script errors or CSP violations.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		b.t.Errorf("the page reported %d script error(s) or CSP violation(s):\n%s", len(b.problems), strings.Join(b.problems, "\n"))
		b.problems = nil
	}
}

// shots saves full-page screenshots into the test's temp dir and, when
// NOMADLIKE_ARTIFACTS is set, copies them there to keep as artifacts.
type shots struct {
	b   *browser
	dir string
	n   int
}

func (s *shots) take(name string) {
	s.b.t.Helper()
	ctx, cancel := context.WithTimeout(s.b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.b.fail("screenshot "+name, err)
	}
	s.n++
	p := filepath.Join(s.dir, fmt.Sprintf("ui-%02d-%s.png", s.n, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		s.b.t.Fatalf("save screenshot: %v", err)
	}
	copyArtifact(s.b.t, p)
}

func copyArtifact(t *testing.T, path string) {
	t.Helper()
	dir := os.Getenv("NOMADLIKE_ARTIFACTS")
	if dir == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o644)
	}
	if err != nil {
		t.Errorf("copy %s to NOMADLIKE_ARTIFACTS=%s: %v", path, dir, err)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "$", `\$`)
	return "`" + r.Replace(s) + "`"
}

// uiUnplaceableJob can never be placed: its constraint excludes every node.
const uiUnplaceableJob = `job "e2e-ui-unplaceable" {
  datacenters = ["*"]

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "windows"
  }

  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/true"
      }

      env {
        E2E_RUN = "%s"
      }
    }
  }
}
`

// TestUI drives the web UI in headless chromium against a real dev agent: the
// jobs list, a parse error, a placement failure explained, a run from the Run
// page, the allocation turning running without a reload, its live logs, the
// cluster pages, stopping, starting and purging jobs from the UI.
func TestUI(t *testing.T) {
	chrome := chromiumPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	b := newBrowser(t, chrome)
	s := &shots{b: b, dir: t.TempDir()}
	t.Logf("screenshots go to %s (and NOMADLIKE_ARTIFACTS=%q)", s.dir, os.Getenv("NOMADLIKE_ARTIFACTS"))
	const step = 30 * time.Second
	nav := func(href string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(fmt.Sprintf(`nav a[href=%q]`, href)))
	}

	// The agent's root redirects to the UI; the jobs list renders from the API.
	start := time.Now()
	b.do("open the agent's root URL", step, chromedp.Navigate(a.addr+"/"))
	b.waitJS("the jobs table", step, `document.querySelector("#jobs-table table") !== null`)
	firstRender := time.Since(start)
	timing := b.eval(`(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		const data = performance.getEntriesByName("nomadlike:first-data")[0];
		return "DOMContentLoaded " + Math.round(nav.domContentLoadedEventEnd) + " ms, first API data rendered " +
			(data ? Math.round(data.startTime) : "?") + " ms after navigation start";
	})()`)
	t.Logf("jobs list: %s from Navigate to a rendered table (browser: %s)", firstRender.Round(time.Millisecond), timing)
	if got := b.eval(`location.pathname`); got != "/ui/jobs" {
		t.Errorf("the root URL led to %q, want /ui/jobs", got)
	}
	if got := b.text("#jobs-table"); !strings.Contains(got, "No jobs yet") {
		t.Errorf("the empty jobs list says %q, want a 'No jobs yet' hint", got)
	}
	// A marker on window survives only as long as the page is not reloaded.
	b.eval(`window.__noReload = "yes"`)
	s.take("jobs-empty")

	// Run page, reached through the navigation bar: a spec that does not parse.
	b.do("open the Run page from the navigation", step,
		nav("/ui/run"),
		chromedp.WaitVisible(chromedp.ID("job-hcl")),
		chromedp.SetValue(chromedp.ID("job-hcl"), uiBadJob),
		chromedp.Click(chromedp.ID("job-plan")),
		chromedp.WaitVisible(chromedp.ID("plan-error")))
	if got := b.text("#plan-error"); !strings.Contains(got, "input.hcl:6:") {
		t.Errorf("the parse error does not name the line and column of the mistake (input.hcl:6:…):\n%s", got)
	}
	s.take("run-parse-error")

	// A job no node can take: the Run page explains why, in the CLI's words.
	b.do("run the unplaceable job", step,
		chromedp.SetValue(chromedp.ID("job-hcl"), fmt.Sprintf(uiUnplaceableJob, runToken)),
		chromedp.Click(chromedp.ID("job-run")))
	b.waitJS("the placement failure explained", step,
		`document.querySelector("#run-failures")?.textContent.includes('Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter')`)
	s.take("run-placement-failure")

	// The real job: Plan shows its task, Run follows it to running.
	b.do("plan the job", step,
		chromedp.SetValue(chromedp.ID("job-hcl"), fmt.Sprintf(uiJob, runToken)),
		chromedp.Click(chromedp.ID("job-plan")),
		chromedp.WaitVisible(chromedp.ID("plan-ok")))
	if got := b.text("#plan-ok"); !strings.Contains(got, "marker") || !strings.Contains(got, "raw_exec") {
		t.Errorf("the plan does not show task marker with driver raw_exec:\n%s", got)
	}
	b.do("run the job", step, chromedp.Click(chromedp.ID("job-run")))
	b.waitJS("the placement to become running on the Run page", 45*time.Second,
		`[...document.querySelectorAll("#run-placements [data-alloc]")].some(e => e.textContent === "running")`)
	allocID := b.eval(`document.querySelector("#run-placements [data-alloc]").dataset.alloc`)
	t.Logf("the UI placed allocation %s", allocID)
	s.take("run-placed")

	// The allocation page: running, then the marker in the live stdout.
	b.do("open the allocation from the placements", step,
		chromedp.Click(chromedp.CSS(`#run-placements a[href^="/ui/allocations/"]`)),
		chromedp.WaitVisible(chromedp.ID("alloc-status")))
	b.waitJS("the allocation page to show running", step,
		`document.querySelector("#alloc-status [data-status]")?.dataset.status === "running"`)
	b.waitJS("the marker line in the live stdout", step,
		`/ui-marker \d+/.test(document.querySelector("#log-output")?.textContent || "")`)
	first := b.eval(`document.querySelector("#log-output").textContent.match(/ui-marker (\d+)/g).pop()`)
	b.waitJS("a later marker line (the log follows live)", step,
		`(document.querySelector("#log-output").textContent.match(/ui-marker (\d+)/g) || []).pop() !== `+jsString(first))
	s.take("alloc-logs")
	b.do("switch to stderr", step, chromedp.Click(chromedp.ID("log-tab-stderr")))
	b.waitJS("the stderr line", step, `/ui-err \d+/.test(document.querySelector("#log-output").textContent)`)

	// The cluster pages, while the job runs: its resources show up on the client.
	b.do("open the clients page", step, nav("/ui/clients"))
	b.waitJS("the clients table with the job's 50 MHz allocated", step,
		`document.querySelector("#clients-table")?.textContent.includes("50 MHz of")`)
	s.take("clients")
	b.do("open the client page", step, chromedp.Click(chromedp.CSS(`#clients-table a[href^="/ui/clients/"]`)))
	b.waitJS("the client's drivers, resources and allocation", step,
		`document.querySelector("#client-drivers")?.textContent.includes("raw_exec") &&
		 document.querySelector("#client-resources")?.textContent.includes("32 MiB of") &&
		 document.querySelector("#client-allocations")?.textContent.includes("e2e-ui")`)
	s.take("client")
	b.do("open the topology page", step, nav("/ui/topology"))
	b.waitJS("the allocation as a block of its client's box", step,
		`document.querySelector('#topology .node-box .fill a[href="/ui/allocations/`+allocID+`"]') !== null`)
	s.take("topology")
	b.do("open the servers page", step, nav("/ui/servers"))
	b.waitJS("the leader and the members", step,
		`document.querySelector("#servers-leader dl") !== null && document.querySelector("#servers-members table") !== null`)
	s.take("servers")

	// The jobs list shows both jobs and filters them.
	b.do("open the jobs list", step, nav("/ui/jobs"))
	b.waitJS("both jobs listed", step, `document.querySelectorAll("#jobs-table [data-job]").length === 2`)
	b.do("filter the jobs", step, chromedp.SendKeys(chromedp.ID("job-search"), "unplace"))
	b.waitJS("the filter to leave one job", step,
		`document.querySelectorAll("#jobs-table [data-job]").length === 1 && document.querySelector("#jobs-count").textContent.includes("1 of 2")`)
	s.take("jobs-filtered")
	b.eval(`(() => { const s = document.getElementById("job-search"); s.value = ""; s.dispatchEvent(new Event("input")); return "" })()`)
	b.waitJS("the cleared filter to show both jobs", step, `document.querySelectorAll("#jobs-table [data-job]").length === 2`)

	// The job page: stop it with the two-step button, start it again, stop it.
	b.do("open the job page", step,
		chromedp.Click(chromedp.CSS(`#jobs-table a[href="/ui/jobs/e2e-ui"]`)),
		chromedp.WaitVisible(chromedp.ID("job-stop")))
	b.waitJS("the job's allocation listed as running", step,
		`document.querySelector("#job-allocations [data-alloc]")?.textContent === "running"`)
	s.take("job-running")
	b.do("ask to stop the job", step, chromedp.Click(chromedp.ID("job-stop")))
	b.waitJS("the stop button to ask for confirmation", step, `document.getElementById("job-stop")?.textContent.startsWith("Confirm")`)
	b.do("confirm the stop", step, chromedp.Click(chromedp.ID("job-stop")))
	b.waitJS("the job to be stopped and its allocation complete", 45*time.Second,
		`document.querySelector("#job-status")?.textContent.includes("dead") &&
		 document.querySelector("#job-allocations [data-alloc]")?.textContent === "complete"`)
	waitFor(t, 30*time.Second, "the task's processes to end", func() (bool, string) {
		pids := procsWithEnv("NOMAD_ALLOC_ID", allocID)
		return len(pids) == 0, fmt.Sprintf("processes still running: %v", pids)
	})
	s.take("job-stopped")
	b.do("start the job again", step, chromedp.Click(chromedp.ID("job-start")))
	b.waitJS("a new allocation running", 45*time.Second,
		`[...document.querySelectorAll("#job-allocations [data-alloc]")].some(e => e.textContent === "running" && e.dataset.alloc !== `+jsString(allocID)+`)`)
	b.do("ask to stop the job again", step, chromedp.WaitVisible(chromedp.ID("job-stop")), chromedp.Click(chromedp.ID("job-stop")))
	b.waitJS("the stop button to ask for confirmation again", step, `document.getElementById("job-stop")?.textContent.startsWith("Confirm")`)
	b.do("confirm the second stop", step, chromedp.Click(chromedp.ID("job-stop")))
	b.waitJS("every allocation to be complete", 45*time.Second,
		`[...document.querySelectorAll("#job-allocations [data-alloc]")].every(e => e.textContent === "complete")`)

	if got := b.eval(`window.__noReload || "reloaded"`); got != "yes" {
		t.Errorf("the page was reloaded (window marker %q): every view must update in place", got)
	}

	// The unplaceable job's page explains the failure; purging it leaves a clear message.
	b.do("open the unplaceable job", step, chromedp.Navigate(a.addr+"/ui/jobs/e2e-ui-unplaceable"))
	b.waitJS("the placement failure banner", step,
		`document.querySelector("#job-placement-failures")?.textContent.includes("1 nodes excluded by filter")`)
	s.take("job-placement-failure")
	b.do("ask to purge the job", step, chromedp.Click(chromedp.ID("job-purge")))
	b.waitJS("the purge button to ask for confirmation", step, `document.getElementById("job-purge")?.textContent.startsWith("Confirm")`)
	b.do("confirm the purge", step, chromedp.Click(chromedp.ID("job-purge")))
	b.waitJS("the job gone, with the API's message", step,
		`document.querySelector("#job-gone")?.textContent.includes("not found") &&
		 document.querySelector("#job-gone").textContent.includes('does not exist in namespace "default"')`)
	s.take("job-purged")

	// Phone width: the jobs list still fits.
	b.do("narrow the window to a phone's width", step,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(a.addr+"/ui/jobs"))
	b.waitJS("the jobs table at phone width", step, `document.querySelector("#jobs-table [data-job]") !== null`)
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("at 390 px the page is %s px wide: it must fit a phone (wide tables scroll inside their own box)", w)
	}
	s.take("jobs-phone")

	b.checkConsole()
}
