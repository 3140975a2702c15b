package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUIIngressRoutes: the Routes page of a client running the ingress
// shows the route of two busybox instances (urlprefix-/app) with both
// allocations healthy and each having served requests sent through the
// ingress, and the TCP route; when one instance's check fails, the page
// shows it failing by itself. The client and service pages link to it.
func TestUIIngressRoutes(t *testing.T) {
	chrome := chromiumPath(t)
	a, httpPort, tcpPort := runIngressJob(t)
	// Requests through the ingress until both instances answered.
	seen := map[string]bool{}
	waitFor(t, 60*time.Second, "both instances answering through the ingress", func() (bool, string) {
		id, err := getTrimmed(fmt.Sprintf("http://127.0.0.1:%d/app/id.txt", httpPort))
		if err == nil {
			seen[id] = true
		}
		return len(seen) == 2, fmt.Sprintf("answered: %v (last error: %v)", seen, err)
	})
	var allocs []string
	for id := range seen {
		allocs = append(allocs, id)
	}

	b := newBrowser(t, chrome)
	const step = 60 * time.Second
	b.do("open the Routes page", step, chromedp.Navigate(a.addr+"/ui/routes"),
		chromedp.WaitVisible(chromedp.ID("routes-list")))
	row := func(alloc, state string) string {
		return fmt.Sprintf(`document.querySelector('section[data-route="/app"] tr[data-alloc=%q][data-state=%q]')`, alloc, state)
	}
	for _, id := range allocs {
		b.waitJS("allocation "+id+" healthy behind /app with requests served and a link to it", step,
			fmt.Sprintf(`(() => { const r = %s; return r !== null && Number(r.dataset.requests) > 0 && r.querySelector('a[href="/ui/allocations/%s"]') !== null; })()`, row(id, "healthy"), id))
	}
	b.waitJS("the TCP route", step, fmt.Sprintf(`document.querySelector('section[data-route=":%d"] tr[data-state="healthy"]') !== null`, tcpPort))
	b.waitJS("the route's service and strip", step,
		`(() => { const s = document.querySelector('section[data-route="/app"]'); return s && s.textContent.includes("web") && s.textContent.includes("/app"); })()`)

	// One instance's check fails: the page (re-read every 5 s) shows it.
	failing := allocs[0]
	if err := os.Remove(filepath.Join(a.dataDir, "alloc", failing, "httpd", "local", "health.txt")); err != nil {
		t.Fatalf("fail the check of %s: %v", failing, err)
	}
	b.waitJS("allocation "+failing+" shown failing", step, row(failing, "failing")+` !== null`)
	b.waitJS("the other still healthy", step, row(allocs[1], "healthy")+` !== null`)
	(&shots{b: b, dir: t.TempDir()}).take("ingress-routes")

	node := b.eval(`document.getElementById("routes-node").value`)
	b.do("open the client page", step, chromedp.Navigate(a.addr+"/ui/clients/"+node))
	b.press("follow the client's link to its routes", "#client-routes-link")
	b.waitJS("the routes of the client", step, fmt.Sprintf(
		`location.search.includes("node=%s") && document.querySelector('section[data-route="/app"]') !== null`, node))

	b.do("open the service page", step, chromedp.Navigate(a.addr+"/ui/services/web"))
	b.press("follow the service's link to its routes", "#service-routes-link")
	b.waitJS("the routes of service web", step,
		`location.search.includes("service=web") && document.querySelector('section[data-route="/app"]') !== null`)
}
