package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUIVariables lists, shows (masked until asked), edits and deletes a
// variable in the UI; the CLI sees each change.
func TestUIVariables(t *testing.T) {
	chrome := chromiumPath(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	secret := "ui-secret-" + runToken
	waitFor(t, 30*time.Second, "the first variable write (the leader's first root key)", func() (bool, string) {
		out, code := a.cli(dir, "var", "put", "app/db", "password="+secret)
		return code == 0, out
	})

	b := newBrowser(t, chrome)
	const step = 30 * time.Second
	b.do("open the variables list", step, chromedp.Navigate(a.addr+"/ui/variables"))
	b.waitJS("app/db listed", step, `(document.querySelector("#var-list") || {}).textContent.includes("app/db")`)
	if strings.Contains(b.text("main"), secret) {
		t.Error("the list shows the variable's value")
	}
	b.do("open the variable", step, chromedp.Navigate(a.addr+"/ui/variables/app/db"))
	b.waitJS("the masked items", step, `(document.querySelector("#var-items") || {}).textContent.includes("password")`)
	if got := b.text("#var-items"); strings.Contains(got, secret) {
		t.Errorf("the value shows before it is asked for: %q", got)
	}
	b.do("show the values", step, chromedp.Click(chromedp.ID("var-show")))
	b.waitJS("the value shown", step, `document.querySelector("#var-items").textContent.includes("`+secret+`")`)

	b.do("edit the items", step,
		chromedp.SetValue(chromedp.ID("var-items-input"), "password=changed-"+runToken+"\nuser=admin"),
		chromedp.Click(chromedp.ID("var-save")))
	waitFor(t, step, "the CLI to see the edit", func() (bool, string) {
		out, _ := a.cli(dir, "var", "get", "-item", "user", "app/db")
		return strings.TrimSpace(out) == "admin", out
	})
	b.do("delete (two clicks)", step, chromedp.Click(chromedp.ID("var-delete")), chromedp.Click(chromedp.ID("var-delete")))
	b.waitJS("back on the list", step, `location.pathname === "/ui/variables"`)
	waitFor(t, step, "the CLI to see the deletion", func() (bool, string) {
		out, code := a.cli(dir, "var", "get", "app/db")
		return code != 0 && strings.Contains(out, "404"), out
	})
}
