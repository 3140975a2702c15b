package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const aclJob = `
job "acl-web" {
  namespace   = "web"
  datacenters = ["*"]
  type        = "service"

  group "web" {
    task "loop" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got-hup' HUP; while true; do sleep 0.2; done"]
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

// httpAs sends one request with token (none when empty) and returns the
// status and body.
func httpAs(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// waitLeaderHTTP waits until the agent's API names a leader (an agent
// started with noWait).
func (a *agent) waitLeaderHTTP() {
	a.t.Helper()
	waitFor(a.t, 60*time.Second, "a leader", func() (bool, string) {
		resp, err := http.Get(a.addr + "/v1/status/leader")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(b), ":"), fmt.Sprintf("%d %s", resp.StatusCode, b)
	})
}

// aclManagement bootstraps the agent's ACLs through the API and returns
// the management secret and a runner of CLI commands (in dir) with it,
// which fails the test on a non-zero exit.
func (a *agent) aclManagement(dir string) (string, func(args ...string) string) {
	t := a.t
	t.Helper()
	code, body := httpAs(t, "PUT", a.addr+"/v1/acl/bootstrap", "", "")
	var boot struct{ SecretID string }
	if code != 200 || json.Unmarshal([]byte(body), &boot) != nil || boot.SecretID == "" {
		t.Fatalf("bootstrap: %d %s", code, body)
	}
	return boot.SecretID, func(args ...string) string {
		t.Helper()
		out, code := a.cli(dir, append([]string{"-token", boot.SecretID}, args...)...)
		if code != 0 {
			t.Fatalf("nomadlike %v: exit %d\n%s", args, code, out)
		}
		return out
	}
}

// TestACLAttacks runs a real agent with acl { enabled = true } and tries,
// through the CLI and raw HTTP, what issue 12 part B item 9 lists: reading
// and restoring snapshots, registering a rogue node, repointing the client,
// exec/signal/restart without the capability, and reaching another
// namespace with a namespace-limited token. Each is refused with 403 and
// audited; what the tokens allow still works.
func TestACLAttacks(t *testing.T) {
	a := startAgent(t, agentOpts{extra: "acl {\n  enabled = true\n}\n", noWait: true})
	a.waitLeaderHTTP()
	dir := t.TempDir()

	// Bootstrap through the CLI; a second bootstrap is refused with the reset index.
	out, code := a.cli(dir, "acl", "bootstrap", "-json")
	if code != 0 {
		t.Fatalf("acl bootstrap failed: %s", out)
	}
	var boot struct{ SecretID, AccessorID string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &boot); err != nil || boot.SecretID == "" {
		t.Fatalf("acl bootstrap output: %v\n%s", err, out)
	}
	if out, code := a.cli(dir, "acl", "bootstrap"); code == 0 || !strings.Contains(out, "reset index") {
		t.Fatalf("second bootstrap: exit %d\n%s", code, out)
	}
	mgmt := func(args ...string) string {
		t.Helper()
		out, code := a.cli(dir, append([]string{"-token", boot.SecretID}, args...)...)
		if code != 0 {
			t.Fatalf("nomadlike %v: exit %d\n%s", args, code, out)
		}
		return out
	}
	waitFor(t, 60*time.Second, "the agent's node to register (its in-process key)", func() (bool, string) {
		code, body := httpAs(t, "GET", a.addr+"/v1/nodes", boot.SecretID, "")
		return code == 200 && strings.Contains(body, `"Status":"ready"`), body
	})

	mgmt("namespace", "apply", "-description", "web team", "web")
	writeFile(t, dir, "web-dev.hcl", `namespace "web" { policy = "write" }`)
	writeFile(t, dir, "web-read.hcl", `namespace "web" { policy = "read" }`)
	mgmt("acl", "policy", "apply", "-description", "developers of web", "web-dev", filepath.Join(dir, "web-dev.hcl"))
	mgmt("acl", "policy", "apply", "web-read", filepath.Join(dir, "web-read.hcl"))
	token := func(policy string) string {
		out := mgmt("acl", "token", "create", "-name", policy, "-policy", policy, "-json")
		var tok struct{ SecretID string }
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &tok); err != nil || tok.SecretID == "" {
			t.Fatalf("token create output: %v\n%s", err, out)
		}
		return tok.SecretID
	}
	dev, reader := token("web-dev"), token("web-read")

	// The namespace token submits and reads in its namespace through the CLI.
	writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(aclJob, runToken))
	if out, code := a.cli(dir, "-token", dev, "job", "run", "-detach", "web.nomad.hcl"); code != 0 {
		t.Fatalf("job run with the web token: exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "-token", dev, "-namespace", "web", "job", "status", "acl-web"); code != 0 {
		t.Fatalf("job status in web: exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "-token", dev, "-namespace", "default", "job", "status"); code == 0 || !strings.Contains(out, "Permission denied") {
		t.Errorf("job status in default with the web token: exit %d\n%s", code, out)
	}
	var allocID string
	waitFor(t, 60*time.Second, "the web allocation to run", func() (bool, string) {
		code, body := httpAs(t, "GET", a.addr+"/v1/allocations?namespace=web", dev, "")
		var allocs []struct{ ID, ClientStatus string }
		if code != 200 || json.Unmarshal([]byte(body), &allocs) != nil || len(allocs) == 0 || allocs[0].ClientStatus != "running" {
			return false, body
		}
		allocID = allocs[0].ID
		return true, ""
	})

	rogue := `{"Node": {"ID": "9e3b1c0a-0000-4000-8000-00000000beef", "SecretID": "9e3b1c0a-0000-4000-8000-00000000cafe", "Name": "rogue", "Datacenter": "dc1"}}`
	forbidden := []struct {
		name, method, path, token, body string
	}{
		{"anonymous job list", "GET", "/v1/jobs?namespace=web", "", ""},
		{"anonymous node list", "GET", "/v1/nodes", "", ""},
		{"anonymous snapshot save", "GET", "/v1/operator/snapshot", "", ""},
		{"namespace token snapshot save", "GET", "/v1/operator/snapshot", dev, ""},
		{"anonymous snapshot restore", "PUT", "/v1/operator/snapshot", "", "not a snapshot"},
		{"namespace token snapshot restore", "PUT", "/v1/operator/snapshot", dev, "not a snapshot"},
		{"rogue node registers", "PUT", "/v1/node/register", "", rogue},
		{"rogue node with a namespace token", "PUT", "/v1/node/register", dev, rogue},
		{"client repointed", "PUT", "/v1/agent/servers?address=127.0.0.1:1", "", ""},
		{"client repointed by a namespace token", "PUT", "/v1/agent/servers?address=127.0.0.1:1", dev, ""},
		{"signal without alloc-lifecycle", "PUT", "/v1/client/allocation/" + allocID + "/signal", reader, `{"Signal": "SIGHUP"}`},
		{"restart without alloc-lifecycle", "PUT", "/v1/client/allocation/" + allocID + "/restart", reader, `{}`},
		{"exec without alloc-exec", "GET", "/v1/client/allocation/" + allocID + "/exec?task=loop&command=%5B%22id%22%5D", reader, ""},
		{"exec into a raw_exec task without alloc-node-exec", "GET", "/v1/client/allocation/" + allocID + "/exec?task=loop&command=%5B%22id%22%5D", dev, ""},
		{"anonymous signal", "PUT", "/v1/client/allocation/" + allocID + "/signal", "", `{"Signal": "SIGHUP"}`},
		{"logs without read-logs", "GET", "/v1/client/fs/logs/" + allocID + "?task=loop&type=stdout", reader, ""},
		{"gc without management", "PUT", "/v1/system/gc", dev, ""},
		{"unknown token", "GET", "/v1/jobs?namespace=web", "00000000-0000-4000-8000-000000000000", ""},
	}
	for _, f := range forbidden {
		if code, body := httpAs(t, f.method, a.addr+f.path, f.token, f.body); code != http.StatusForbidden {
			t.Errorf("%s: %s %s answered %d, want 403: %s", f.name, f.method, f.path, code, body)
		}
	}
	// What the tokens allow still works.
	if code, body := httpAs(t, "PUT", a.addr+"/v1/client/allocation/"+allocID+"/signal", dev, `{"Signal": "SIGHUP", "Task": "loop"}`); code != 200 {
		t.Errorf("signal with alloc-lifecycle: %d %s", code, body)
	}
	if code, _ := httpAs(t, "GET", a.addr+"/v1/operator/snapshot", boot.SecretID, ""); code != 200 {
		t.Errorf("snapshot save with the management token: %d", code)
	}
	if code, body := httpAs(t, "GET", a.addr+"/v1/job/acl-web?namespace=web", reader, ""); code != 200 {
		t.Errorf("read-only token reading its namespace: %d %s", code, body)
	}
	// Denials are audited with who and what.
	log, err := os.ReadFile(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `msg="request denied"`) || !strings.Contains(string(log), "path=/v1/operator/snapshot") {
		t.Errorf("the agent log has no audit record of the denied snapshot request")
	}
	if strings.Contains(string(log), boot.SecretID) || strings.Contains(string(log), dev) {
		t.Errorf("a token secret appears in the agent log")
	}
	mgmt("job", "stop", "-namespace", "web", "-purge", "acl-web")
}
