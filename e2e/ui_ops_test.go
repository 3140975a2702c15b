package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// uiOpsJob is the job TestUIOperations plans, runs, scales and reverts:
// COUNT is replaced by the group's count.
const uiOpsJob = `job "e2e-ui-ops" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = COUNT

    task "spin" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo ops; sleep 1; done"]
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

// uiCanaryJob rolls out each new version (VERSION is replaced) through a
// canary that waits for a manual promotion.
const uiCanaryJob = `job "e2e-ui-canary" {
  datacenters = ["*"]

  update {
    max_parallel     = 1
    canary           = 1
    min_healthy_time = "1s"
    healthy_deadline = "1m"
  }

  group "g" {
    count = 2

    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo VERSION; sleep 1; done"]
      }

      env {
        E2E_RUN = "%s"
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// press clicks the element sel selects once it exists, through the page's
// own DOM at that moment: a live table or section may have been redrawn since
// the test last looked, and a CDP click on the old node would fail.
func (b *browser) press(what, sel string) {
	b.t.Helper()
	q := jsString(sel)
	b.waitJS(what+" ("+sel+" present)", 30*time.Second, `document.querySelector(`+q+`) !== null`)
	if got := b.eval(`(() => { const e = document.querySelector(` + q + `); if (!e) return "gone"; e.focus(); e.click(); return ""; })()`); got != "" {
		b.fail(what, fmt.Errorf("%s is %s", sel, got))
	}
}

// TestUIOperations drives the UI's operator actions in one headless chromium
// against a real dev agent: the Run page's plan (diff, placements, failures),
// scaling a group from the keyboard, versions with their diffs and a revert,
// a deployment's promotion and failure, live allocation usage and a restart,
// eligibility and drain from the clients list and a client page, the servers
// page with the Raft configuration, an API error shown with its message, and
// the job and clients pages at phone width.
func TestUIOperations(t *testing.T) {
	chrome := chromiumPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	b := newBrowser(t, chrome)
	s := &shots{b: b, dir: t.TempDir()}
	t.Logf("screenshots go to %s (and NOMADLIKE_ARTIFACTS=%q)", s.dir, os.Getenv("NOMADLIKE_ARTIFACTS"))
	const step = 30 * time.Second
	spec := func(count int) string {
		return strings.Replace(fmt.Sprintf(uiOpsJob, runToken), "COUNT", fmt.Sprint(count), 1)
	}
	running := func(n int) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#job-allocations [data-alloc]")].filter(e => e.textContent === "running").length === %d`, n)
	}

	// Run page: the plan of a new job is a dry run with its placements.
	b.do("plan a new job", step,
		chromedp.Navigate(a.addr+"/ui/run"),
		chromedp.WaitVisible(chromedp.ID("job-hcl")),
		chromedp.SetValue(chromedp.ID("job-hcl"), spec(1)),
		chromedp.Click(chromedp.ID("job-plan")))
	b.waitJS("the dry run of the new job", step,
		`document.querySelector("#plan-all-placed") !== null && document.querySelector("#plan-placements")?.textContent.includes('Task group "web": 1 create.')`)
	if got := b.text("#plan-diff"); !strings.Contains(got, `+ Job: "e2e-ui-ops"`) {
		t.Errorf("the plan of a new job does not show it added:\n%s", got)
	}
	s.take("run-plan-new")

	// A job no node can take: the plan says so before anything runs.
	b.do("plan the unplaceable job", step,
		chromedp.SetValue(chromedp.ID("job-hcl"), fmt.Sprintf(uiUnplaceableJob, runToken)),
		chromedp.Click(chromedp.ID("job-plan")))
	b.waitJS("the plan's placement failure explained", step,
		`(() => { const f = document.querySelector("#plan-failures"); return !!f && f.textContent.includes("WARNING: Failed to place all allocations.") &&
		   f.textContent.includes('Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter'); })()`)
	s.take("run-plan-failure")

	b.do("run the first job", step,
		chromedp.SetValue(chromedp.ID("job-hcl"), spec(1)),
		chromedp.Click(chromedp.ID("job-run")))
	b.waitJS("the allocation running", 45*time.Second,
		`[...document.querySelectorAll("#run-placements [data-alloc]")].some(e => e.textContent === "running")`)

	// Planning a change shows the diff against the running version.
	b.do("plan count 2", step,
		chromedp.SetValue(chromedp.ID("job-hcl"), spec(2)),
		chromedp.Click(chromedp.ID("job-plan")))
	b.waitJS("the diff of the count", step,
		`document.querySelector("#plan-diff")?.textContent.includes('+/- Count: "1" => "2" (forces create)') &&
		 document.querySelector("#plan-placements")?.textContent.includes('Task group "web": 1 create,')`)
	s.take("run-plan-diff")

	// Job page: scale the group to 3 from the keyboard (Enter submits the form).
	b.do("open the job page", step,
		chromedp.Click(chromedp.ID("run-job-link")),
		chromedp.WaitVisible(chromedp.ID("scale-form")))
	b.waitJS("one allocation running", step, running(1))
	clearCount := `(() => { document.getElementById("scale-count").value = ""; return ""; })()`
	b.eval(clearCount)
	b.do("type a count that is not a number", step, chromedp.SendKeys(chromedp.ID("scale-count"), "-1"+kb.Enter))
	b.waitJS("the count refused with a message", step,
		`document.querySelector("#scale-error")?.textContent.includes("whole number, 0 or more")`)
	b.eval(clearCount)
	b.do("scale to 3 with the keyboard", step, chromedp.SendKeys(chromedp.ID("scale-count"), "3"+kb.Enter))
	b.waitJS("three allocations running", 60*time.Second, running(3))
	b.waitJS("version 1 with the count's diff", step,
		`document.querySelector("#version-diff-1")?.textContent.includes('+/- Count: "1" => "3"')`)
	b.waitJS("the scale listed as a scaling event", step,
		`document.querySelector("#job-scaling-events")?.textContent.includes("scaled to 3 from the web UI")`)
	s.take("job-scaled")

	// Revert to version 0 with the two-step button, from the keyboard: back
	// to one allocation, and the focus lands on the outcome.
	b.eval(`(() => { document.getElementById("revert-0").focus(); return ""; })()`)
	b.do("ask to revert to version 0 (Enter on the focused button)", step, chromedp.KeyEvent(kb.Enter))
	b.waitJS("the revert button to ask for confirmation", step, `document.getElementById("revert-0")?.textContent.startsWith("Confirm")`)
	b.do("confirm the revert (Enter again)", step, chromedp.KeyEvent(kb.Enter))
	b.waitJS("version 2 with the count back to 1", step,
		`document.querySelector("#version-diff-2")?.textContent.includes('+/- Count: "3" => "1"') &&
		 document.querySelector("#job-action-result")?.textContent.includes("Revert to version 0: done")`)
	b.waitJS("one allocation running again", 60*time.Second, running(1))
	if got := b.eval(`document.activeElement?.id || document.activeElement?.tagName`); got != "revert-0" && got != "job-action-result" {
		t.Errorf("after the revert the focus is on %s: a redraw must keep it on the button or move it to the outcome", got)
	}
	b.waitJS("the deployment section", step,
		`document.querySelector("#deployment-none, #deployment") !== null`)
	if b.eval(`document.querySelector("#deployment") ? "yes" : ""`) == "yes" {
		t.Logf("the job has a deployment: %s", b.text("#deployment"))
	} else {
		t.Logf("the job has no deployment (GET /v1/job/:id/deployment answers null)")
	}
	s.take("job-reverted")

	// Deployments: a new version waits in its canary; the page shows the
	// progress and promotes it, then fails the next one.
	api := a.api()
	register := func(version string) {
		t.Helper()
		job, err := api.ParseJob(t.Context(), strings.Replace(fmt.Sprintf(uiCanaryJob, runToken), "VERSION", version, 1))
		if err != nil {
			t.Fatalf("parse the canary job: %v", err)
		}
		if _, err := api.RegisterJob(t.Context(), &structs.JobRegisterRequest{Job: job}); err != nil {
			t.Fatalf("register the canary job %s: %v", version, err)
		}
	}
	register("v1")
	b.do("open the canary job", step, chromedp.Navigate(a.addr+"/ui/jobs/e2e-ui-canary"))
	b.waitJS("the first deployment successful", 60*time.Second,
		`document.querySelector("#deployment")?.dataset.status === "successful"`)
	register("v2")
	b.waitJS("the canary placed, healthy and waiting for promotion", 60*time.Second,
		`document.querySelector("#deployment")?.dataset.status === "running" &&
		 document.querySelector("#deployment").textContent.includes("1 of 1") &&
		 document.querySelector("#deployment .progress")?.textContent.includes("1 of 2 healthy") &&
		 document.getElementById("deployment-promote") !== null`)
	s.take("deployment-canary")
	b.press("promote the canary", "#deployment-promote")
	b.waitJS("the deployment successful after the promotion", 60*time.Second,
		`document.querySelector("#deployment")?.dataset.status === "successful" &&
		 document.querySelector("#deployment .progress")?.textContent.includes("2 of 2 healthy")`)
	register("v3")
	b.waitJS("the next deployment running with its fail button", 60*time.Second,
		`document.querySelector("#deployment")?.dataset.status === "running" && document.getElementById("deployment-fail") !== null`)
	b.press("ask to fail the deployment", "#deployment-fail")
	b.waitJS("the fail button to ask for confirmation", step, `document.getElementById("deployment-fail")?.textContent.startsWith("Confirm")`)
	b.press("confirm the failure", "#deployment-fail")
	b.waitJS("the deployment failed", step, `document.querySelector("#deployment")?.dataset.status === "failed"`)
	s.take("deployment-failed")
	if _, err := api.DeregisterJob(t.Context(), "e2e-ui-canary", true); err != nil {
		t.Fatalf("purge the canary job: %v", err)
	}

	// The allocation page shows live usage against the allocation, re-read.
	b.do("open the ops job again", step, chromedp.Navigate(a.addr+"/ui/jobs/e2e-ui-ops"))
	b.waitJS("one allocation running", step, running(1))
	allocID := b.eval(`[...document.querySelectorAll("#job-allocations [data-alloc]")].find(e => e.textContent === "running").dataset.alloc`)
	b.press("open the running allocation", `#job-allocations a[href="/ui/allocations/`+allocID+`"]`)
	b.waitJS("the allocation running", step, `document.querySelector("#alloc-status [data-status]")?.dataset.status === "running"`)
	b.waitJS("the live usage against 32 MiB and 50 MHz", step,
		`document.querySelector("#alloc-usage")?.textContent.includes("of 32 MiB allocated") &&
		 document.querySelector("#alloc-usage").textContent.includes("of 50 MHz allocated")`)
	first := b.eval(`document.querySelector("#alloc-usage").dataset.timestamp`)
	b.waitJS("the usage re-read", step, `document.querySelector("#alloc-usage")?.dataset.timestamp !== `+jsString(first))
	s.take("alloc-usage")
	b.press("ask to restart the tasks", "#alloc-restart")
	b.waitJS("the restart button to ask for confirmation", step, `document.getElementById("alloc-restart")?.textContent.startsWith("Confirm")`)
	b.press("confirm the restart", "#alloc-restart")
	b.waitJS("the task restarted in place, in its events", step,
		`(() => { const c = document.querySelector('#alloc-tasks [data-task="spin"]'); return !!c && c.textContent.includes("Restart Signaled") &&
		   c.textContent.includes("Restarting") && document.querySelector("#alloc-status [data-status]")?.dataset.status === "running"; })()`)

	// Clients list: mark the node ineligible and eligible again.
	b.do("open the clients page", step,
		chromedp.Click(chromedp.CSS(`nav a[href="/ui/clients"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[id^="node-eligibility-"]`)))
	nodeID := strings.TrimPrefix(b.eval(`document.querySelector('[id^="node-eligibility-"]').id`), "node-eligibility-")
	elig := "#node-eligibility-" + nodeID
	b.press("mark the node ineligible", elig)
	b.waitJS("the node ineligible", step,
		`document.querySelector(`+jsString(elig)+`)?.textContent === "Mark eligible" && document.querySelector("#clients-table").textContent.includes("ineligible")`)
	if n, _, err := a.api().Node(t.Context(), nodeID, nil); err != nil || n.SchedulingEligibility != "ineligible" {
		t.Errorf("after the UI marked it ineligible the node is %v (err %v)", n.SchedulingEligibility, err)
	}
	s.take("clients-ineligible")
	b.press("mark the node eligible", elig)
	b.waitJS("the node eligible", step, `document.querySelector(`+jsString(elig)+`)?.textContent === "Mark ineligible"`)

	// Client page: drain with a 10 minute deadline. On a one-node cluster
	// the drain completes at once (the replacements cannot be placed, so
	// nothing waits), leaving the node ineligible: the page must say so, and
	// the request must have carried the chosen DrainSpec (recorded in the page).
	b.press("open the client page", `#clients-table a[href="/ui/clients/`+nodeID+`"]`)
	b.eval(`(() => { window.__sent = []; const f = window.fetch;
		window.fetch = (u, o) => { window.__sent.push((o?.method || "GET") + " " + String(u) + " " + (o?.body || "")); return f(u, o); };
		return ""; })()`)
	b.waitJS("the drain form", step, `document.getElementById("drain-deadline") !== null`)
	b.eval(`(() => { document.getElementById("drain-deadline").value = "600"; return ""; })()`)
	b.press("drain", "#node-drain")
	b.waitJS("the drain button to ask for confirmation", step, `document.getElementById("node-drain")?.textContent.startsWith("Confirm")`)
	b.press("confirm the drain", "#node-drain")
	b.waitJS("the drain done: its events listed, the node ineligible", step,
		`document.querySelector("#client-events")?.textContent.includes("Node drain strategy set") &&
		 document.querySelector("#client-events").textContent.includes("Node drain complete") &&
		 document.querySelector("#client-status")?.textContent.includes("ineligible") &&
		 document.getElementById("node-eligibility")?.textContent === "Mark eligible"`)
	sent := b.eval(`window.__sent.filter(s => s.includes("/drain")).join("\n")`)
	if want := `"DrainSpec":{"Deadline":600000000000,"IgnoreSystemJobs":false}`; !strings.Contains(sent, "PUT /v1/node/"+nodeID+"/drain") || !strings.Contains(sent, want) {
		t.Errorf("the drain request was not PUT /v1/node/%s/drain with %s:\n%s", nodeID, want, sent)
	}
	s.take("client-drained")
	b.press("mark the drained node eligible", "#node-eligibility")
	b.waitJS("the node eligible again", step,
		`document.getElementById("node-eligibility")?.textContent === "Mark ineligible" && !document.querySelector("#client-status").textContent.includes("ineligible")`)
	if n, _, err := api.Node(t.Context(), nodeID, nil); err != nil || n.SchedulingEligibility != "eligible" || n.Drain {
		t.Errorf("after the UI marked it eligible the node is %q, draining %v (err %v)", n.SchedulingEligibility, n.Drain, err)
	}

	// The clients list drains with the CLI's defaults (a 1 hour deadline),
	// after the same two-step confirmation.
	b.do("open the clients list", step, chromedp.Click(chromedp.CSS(`nav a[href="/ui/clients"]`)))
	b.press("drain from the list", "#node-drain-"+nodeID)
	b.waitJS("the list's drain button to ask for confirmation", step,
		`document.getElementById("node-drain-`+nodeID+`")?.textContent.startsWith("Confirm: drain")`)
	b.press("confirm the drain from the list", "#node-drain-"+nodeID)
	b.waitJS("the drain done and the node ineligible in the list", step,
		`(() => { const e = document.querySelector(`+jsString(elig)+`); return !!e && e.textContent === "Mark eligible" && !e.disabled; })()`)
	sent = b.eval(`window.__sent.filter(s => s.includes("/drain")).join("\n")`)
	if want := `"DrainSpec":{"Deadline":3600000000000,"IgnoreSystemJobs":false}`; !strings.Contains(sent, want) {
		t.Errorf("the clients list's drain request did not carry %s:\n%s", want, sent)
	}
	b.press("mark the node eligible from the list", elig)
	b.waitJS("the node eligible in the list", step, `document.querySelector(`+jsString(elig)+`)?.textContent === "Mark ineligible"`)

	// Servers page: the leader, the Raft configuration and the members.
	b.do("open the servers page", step, chromedp.Click(chromedp.CSS(`nav a[href="/ui/servers"]`)))
	b.waitJS("the Raft configuration with a voting leader", step,
		`(() => { const t = document.querySelector("#servers-peers table"); return !!t && t.textContent.includes("leader") && t.textContent.includes("yes"); })()`)
	b.waitJS("the members with the leader marked", step,
		`document.querySelector("#servers-members table")?.textContent.includes("alive") && document.querySelector("#servers-members .badge.ok") !== null`)
	s.take("servers")

	// A failed API call shows the agent's message, not a blank page.
	b.do("open a client that does not exist", step, chromedp.Navigate(a.addr+"/ui/clients/no-such-node"))
	b.waitJS("the error with the agent's message", step,
		`(() => { const e = document.querySelector("#client-gone"); return !!e && e.textContent.includes("GET /v1/node/no-such-node") &&
		   e.textContent.includes("HTTP 404") && e.textContent.includes("not found"); })()`)
	s.take("client-missing")

	// Phone width: the job page (diffs, tables, the scale form) still fits.
	b.do("open the job page at a phone's width", step,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(a.addr+"/ui/jobs/e2e-ui-ops"))
	b.waitJS("the job page with its versions", step, `document.querySelector("#version-diff-2") !== null && document.querySelector("#scale-form") !== null`)
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("at 390 px the job page is %s px wide: it must fit a phone (wide parts scroll inside their own box)", w)
	}
	s.take("job-phone")
	b.do("open the clients page at a phone's width", step,
		chromedp.Navigate(a.addr+"/ui/clients"),
		chromedp.WaitVisible(chromedp.CSS(elig)))
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("at 390 px the clients page is %s px wide: it must fit a phone", w)
	}
	s.take("clients-phone")

	if _, err := api.DeregisterJob(t.Context(), "e2e-ui-ops", true); err != nil {
		t.Errorf("purge the job: %v", err)
	}
	b.checkConsole()
}
