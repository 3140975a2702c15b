package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUIActivity opens the Activity page of a dev agent in chromium and runs
// a batch job from the CLI: the live feed shows the job's registration and
// its allocation completing, linked to their pages, without a reload; the
// topic filter narrows the feed to one topic.
func TestUIActivity(t *testing.T) {
	chrome := chromiumPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	b := newBrowser(t, chrome)
	const step = 30 * time.Second
	b.do("open the Activity page", step,
		chromedp.Navigate(a.addr+"/ui/activity"),
		chromedp.WaitVisible(chromedp.ID("activity-feed")))
	b.waitJS("the feed to be live", step, `document.getElementById("activity-feed")?.dataset.streaming === "true"`)

	dir := t.TempDir()
	job := strings.Replace(fmt.Sprintf(eventsJob, runToken), `"e2e-events"`, `"e2e-activity"`, 1)
	if out, code := a.cli(dir, "job", "run", writeFile(t, dir, "act.nomad.hcl", job)); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	b.waitJS("the job's registration in the feed, linked to the job page", step,
		`[...document.querySelectorAll('#activity-feed tr[data-topic="Job"][data-key="e2e-activity"] a')].some(a => a.getAttribute("href") === "/ui/jobs/e2e-activity")`)
	b.waitJS("the allocation completing in the feed", step,
		`[...document.querySelectorAll('#activity-feed tr[data-topic="Allocation"]')].some(r => r.textContent.includes("e2e-activity") && r.textContent.includes("complete") && r.querySelector('a[href^="/ui/allocations/"]'))`)

	b.do("filter the feed to Job events", step, chromedp.SetValue(chromedp.ID("activity-topic"), "Job"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("activity-topic").dispatchEvent(new Event("change"))`))
	// The job's later events (its status) arrive again when it changes: stop it.
	if out, code := a.cli(dir, "job", "stop", "-detach", "e2e-activity"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s", code, out)
	}
	b.waitJS("only Job events after the filter, the stopped job among them", step,
		`(() => { const rows = [...document.querySelectorAll('#activity-feed tbody tr[data-topic]')];
		  return rows.length > 0 && rows.every(r => r.dataset.topic === "Job") && rows.some(r => r.dataset.type === "JobDeregistered"); })()`)
}

// TestUIFailedAllocOpensOnStderr: the page of a failed allocation opens its
// logs on the failed task's stderr, where the error is, and the job page
// shows the job's summary.
func TestUIFailedAllocOpensOnStderr(t *testing.T) {
	chrome := chromiumPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	noRestart := "      attempts = 0\n      mode     = \"fail\""
	f := writeFile(t, dir, "boom.nomad.hcl", batchExitJob("ui-boom", noRestart, map[string]string{"g": "echo to stdout; echo boom-on-stderr >&2; exit 3"}, []string{"g"}))
	if out, code := a.cli(dir, "job", "run", f); code != 3 {
		t.Fatalf("job run: exit %d, want 3\n%s", code, out)
	}
	ctx, cancel := ctx10s()
	defer cancel()
	allocs, _, err := a.api().JobAllocations(ctx, "ui-boom", nil)
	if err != nil || len(allocs) != 1 {
		t.Fatalf("allocations: %v (%d)", err, len(allocs))
	}
	b := newBrowser(t, chrome)
	const step = 30 * time.Second
	b.do("open the failed allocation", step, chromedp.Navigate(a.addr+"/ui/allocations/"+allocs[0].ID))
	b.waitJS("the stderr tab selected with the error in it", step,
		`document.getElementById("log-tab-stderr")?.getAttribute("aria-selected") === "true" && (document.getElementById("log-output")?.textContent || "").includes("boom-on-stderr")`)
	b.waitJS("the usage section to say the allocation finished", step, `document.getElementById("alloc-usage-done") !== null`)
	b.do("open the job page", step, chromedp.Navigate(a.addr+"/ui/jobs/ui-boom"))
	b.waitJS("the job's summary and its allocation", step,
		`(document.querySelector("#job-groups table")?.textContent || "").includes("g") && document.querySelector("#job-allocations [data-alloc]") !== null`)
}
