package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUILogin drives the UI of an agent with ACLs enabled: without a token
// the jobs list shows nothing; after signing in with a token limited to the
// web namespace (stored in localStorage, sent as X-Nomad-Token) the login
// page names the token, the jobs list shows the web job and the namespace
// selector offers only what the token may read.
func TestUILogin(t *testing.T) {
	chrome := chromiumPath(t)
	a := startAgent(t, agentOpts{extra: "acl {\n  enabled = true\n}\n", noWait: true})
	a.waitLeaderHTTP()
	dir := t.TempDir()
	_, mgmt := a.aclManagement(dir)
	mgmt("namespace", "apply", "web")
	writeFile(t, dir, "web-dev.hcl", `namespace "web" { policy = "write" }`)
	mgmt("acl", "policy", "apply", "web-dev", dir+"/web-dev.hcl")
	out := mgmt("acl", "token", "create", "-name", "ui-dev", "-policy", "web-dev", "-json")
	var tok struct{ SecretID string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &tok); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(aclJob, runToken))
	mgmt("job", "run", "-detach", "web.nomad.hcl")

	b := newBrowser(t, chrome)
	const step = 30 * time.Second
	b.do("open the jobs list without a token", step, chromedp.Navigate(a.addr+"/ui/jobs"))
	b.waitJS("the empty jobs table", step, `document.querySelector("#jobs-table table") !== null`)
	if got := b.text("#jobs-table"); strings.Contains(got, "acl-web") {
		t.Errorf("without a token the jobs list shows %q", got)
	}

	b.do("sign in with the web token", step,
		chromedp.Navigate(a.addr+"/ui/login"),
		chromedp.WaitVisible(chromedp.ID("acl-token")),
		chromedp.SetValue(chromedp.ID("acl-token"), tok.SecretID),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	b.waitJS("the login page to name the token", step, `document.querySelector("#token-identity").textContent.includes('Signed in as "ui-dev"')`)
	if got := b.eval(`localStorage.getItem("nomadlike.acl-token") || ""`); got != tok.SecretID {
		t.Errorf("localStorage holds %q, want the token", got)
	}

	b.do("open the jobs list signed in", step, chromedp.Navigate(a.addr+"/ui/jobs"))
	b.waitJS("the web job in the list", step, `(document.querySelector("#jobs-table") || {}).textContent.includes("acl-web")`)
	b.waitJS("the namespace selector to list web", step, `[...document.querySelectorAll("#namespace-select option")].some(o => o.value === "web")`)
	if got := b.eval(`[...document.querySelectorAll("#namespace-select option")].map(o => o.value).join(",")`); got != "*,web" {
		t.Errorf("namespace selector options = %q, want *,web (the token reads only web)", got)
	}
	b.do("choose the web namespace", step, chromedp.SetValue(chromedp.ID("namespace-select"), "web"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#namespace-select").dispatchEvent(new Event("change"))`))
	b.waitJS("the URL to carry the namespace", step, `location.search.includes("namespace=web")`)
	b.waitJS("the web job listed in its namespace", step, `(document.querySelector("#jobs-table") || {}).textContent.includes("acl-web")`)
	mgmt("job", "stop", "-namespace", "web", "-purge", "acl-web")
}
