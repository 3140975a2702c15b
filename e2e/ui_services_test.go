package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const uiServiceJob = `
job "e2e-ui-svc" {
  datacenters = ["*"]
  namespace   = "%[1]s"
  group "g" {
    network {
      port "http" {}
    }
    service {
      name     = "ui-web"
      port     = "http"
      tags     = ["blue"]
      provider = "nomad"
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// TestUIServices: the services page lists a service registered in the
// default namespace and one in namespace "shop" with the DNS names the
// clients answer for them (the namespace in the name outside default),
// and a service's page shows its DNS name and its registration, which
// links to its allocation's page with its ports.
func TestUIServices(t *testing.T) {
	chrome := chromiumPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	if out, code := a.cli(dir, "namespace", "apply", "shop"); code != 0 {
		t.Fatalf("namespace apply exited %d:\n%s", code, out)
	}
	for _, ns := range []string{"default", "shop"} {
		writeFile(t, dir, ns+".nomad.hcl", fmt.Sprintf(uiServiceJob, ns, runToken))
		if out, code := a.cli(dir, "job", "run", "-detach", ns+".nomad.hcl"); code != 0 {
			t.Fatalf("job run in %s exited %d:\n%s", ns, code, out)
		}
	}
	waitFor(t, 60*time.Second, "both registrations", func() (bool, string) {
		out, _ := a.cli(dir, "service", "list", "-namespace", "*")
		return strings.Contains(out, "ui-web.service.nomad") && strings.Contains(out, "ui-web.service.shop.nomad"), out
	})

	b := newBrowser(t, chrome)
	const step = 30 * time.Second
	b.do("open the services list", step, chromedp.Navigate(a.addr+"/ui/services"))
	b.waitJS("both DNS names listed", step, `(() => { const t = (document.querySelector("#services-table") || {}).textContent || "";
		return t.includes("ui-web.service.nomad") && t.includes("ui-web.service.shop.nomad"); })()`)
	b.do("open the shop service", step, chromedp.Navigate(a.addr+"/ui/services/ui-web?namespace=shop"))
	b.waitJS("its DNS name and registration", step, `(() => {
		const head = (document.querySelector("#service-dns") || {}).textContent || "";
		const regs = (document.querySelector("#service-registrations") || {}).textContent || "";
		return head.includes("ui-web.service.shop.nomad") && regs.includes("e2e-ui-svc") && regs.includes("blue"); })()`)
	if got := b.text("#service-dns"); !strings.Contains(got, "<tag>.ui-web.service.shop.nomad") {
		t.Errorf("the service page's DNS card %q lacks the tag form", got)
	}
	// The registration links to its allocation, whose page shows its ports.
	b.do("open the allocation", step, chromedp.Click(chromedp.CSS(`#service-registrations a[href^="/ui/allocations/"]`)))
	b.waitJS("the allocation's ports", step, `((document.querySelector("#alloc-ports") || {}).textContent || "").startsWith("http 127.0.0.1:")`)
}
