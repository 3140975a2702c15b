package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// varsJob renders nomad/jobs/<job> with nomadVar into secrets/ and logs a
// hash of what it read at each start (never the value itself).
const varsJob = `
job %q {
  datacenters = ["*"]
  type        = "service"

  group "app" {
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"start $(sha256sum < secrets/app.env | cut -c1-64)\" >> local/starts.log; echo \"token=${NOMAD_TOKEN}\" > local/env-token; while true; do sleep 0.2; done"]
      }
      identity {
        env  = true
        file = true
      }
      template {
        data        = "{{ with nomadVar \"nomad/jobs/%s\" }}password={{ .password }}{{ end }}\n"
        destination = "secrets/app.env"
        change_mode = "restart"
      }
      env {
        E2E_RUN = %q
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestVariablesTemplateIdentity is issue 16's acceptance test: a variable
// written with the CLI is rendered by a task with nomadVar into secrets/,
// a change restarts the task with the new value, another job's task and a
// token without the capability are refused, the plaintext is nowhere in
// the data dir (the task's own secrets/ aside: a tmpfs), the agent log or a
// snapshot, a full rotation keeps every variable readable, and the task's
// JWT verifies against /.well-known/jwks.json with a standard library.
func TestVariablesTemplateIdentity(t *testing.T) {
	// A short data dir: the Task API socket path must fit a unix socket.
	dataDir, err := os.MkdirTemp("", "nv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) }) // after the harness unmounted
	a := startAgent(t, agentOpts{extra: "acl {\n  enabled = true\n}\n", noWait: true, dataDir: dataDir})
	a.waitLeaderHTTP()
	dir := t.TempDir()
	bootSecret, mgmt := a.aclManagement(dir)
	waitFor(t, 60*time.Second, "the node to register", func() (bool, string) {
		code, body := httpAs(t, "GET", a.addr+"/v1/nodes", bootSecret, "")
		return code == 200 && strings.Contains(body, `"Status":"ready"`), body
	})

	secret1, secret2 := "s3cret-one-"+runToken, "s3cret-two-"+runToken
	mgmt("var", "put", "nomad/jobs/vars-app", "password="+secret1)

	writeFile(t, dir, "app.nomad.hcl", fmt.Sprintf(varsJob, "vars-app", "vars-app", runToken))
	mgmt("job", "run", "-detach", "app.nomad.hcl")
	allocDir := func(job string) string {
		t.Helper()
		var id string
		waitFor(t, 60*time.Second, "an allocation of "+job, func() (bool, string) {
			code, body := httpAs(t, "GET", a.addr+"/v1/job/"+job+"/allocations", bootSecret, "")
			var allocs []struct{ ID string }
			if code != 200 || json.Unmarshal([]byte(body), &allocs) != nil || len(allocs) == 0 {
				return false, body
			}
			id = allocs[0].ID
			return true, ""
		})
		return filepath.Join(a.dataDir, "alloc", id, "server")
	}
	appDir := allocDir("vars-app")
	starts := func() string { b, _ := os.ReadFile(filepath.Join(appDir, "local", "starts.log")); return string(b) }
	waitFor(t, 60*time.Second, "the task to start with the first value", func() (bool, string) {
		return strings.Contains(starts(), "start "+sha256Hex("password="+secret1+"\n")), starts()
	})

	// A change of the variable re-renders the template and restarts the task.
	mgmt("var", "put", "nomad/jobs/vars-app", "password="+secret2)
	waitFor(t, 60*time.Second, "the task to restart with the new value", func() (bool, string) {
		return strings.Contains(starts(), "start "+sha256Hex("password="+secret2+"\n")), starts()
	})

	// Another job's task may not read it: its template fails with a 403.
	writeFile(t, dir, "other.nomad.hcl", fmt.Sprintf(varsJob, "vars-other", "vars-app", runToken))
	mgmt("job", "run", "-detach", "other.nomad.hcl")
	waitFor(t, 60*time.Second, "the other job's template to be refused", func() (bool, string) {
		code, body := httpAs(t, "GET", a.addr+"/v1/job/vars-other/allocations", bootSecret, "")
		return code == 200 && strings.Contains(body, "Permission denied") && strings.Contains(body, `the workload identity of task \"server\" of job \"vars-other\"`), body
	})

	// A token without the variables capability gets 403.
	writeFile(t, dir, "reader.hcl", "namespace \"default\" {\n  policy = \"read\"\n}\n")
	mgmt("acl", "policy", "apply", "reader", filepath.Join(dir, "reader.hcl"))
	tokOut := mgmt("acl", "token", "create", "-name", "reader", "-policy", "reader", "-json")
	var reader struct{ SecretID string }
	if err := json.Unmarshal([]byte(tokOut[strings.Index(tokOut, "{"):]), &reader); err != nil {
		t.Fatal(err)
	}
	if out, code := a.cli(dir, "-token", reader.SecretID, "var", "get", "nomad/jobs/vars-app"); code == 0 || !strings.Contains(out, "403") {
		t.Errorf("var get without the capability: exit %d\n%s", code, out)
	}
	if code, body := httpAs(t, "GET", a.addr+"/v1/var/nomad/jobs/vars-app", reader.SecretID, ""); code != http.StatusForbidden {
		t.Errorf("GET /v1/var without the capability: %d %s", code, body)
	}

	// The task's secrets dir is a tmpfs (the client runs as root here).
	if os.Geteuid() == 0 {
		mi, _ := os.ReadFile("/proc/self/mountinfo")
		if !strings.Contains(string(mi), " "+filepath.Join(appDir, "secrets")+" ") {
			t.Errorf("%s/secrets is not a mount point:\n%s", appDir, mi)
		}
	}

	// The task's JWT verifies against the published keys with golang-jwt.
	tokenBytes, err := os.ReadFile(filepath.Join(appDir, "secrets", "nomad_token"))
	if err != nil {
		t.Fatal(err)
	}
	envTok, _ := os.ReadFile(filepath.Join(appDir, "local", "env-token"))
	if strings.TrimSpace(string(envTok)) != "token="+string(tokenBytes) {
		t.Errorf("NOMAD_TOKEN in the task %q differs from secrets/nomad_token", envTok)
	}
	mgmt("var", "put", "project/other", "k=v")
	verifyJWT(t, a.addr, string(tokenBytes), "vars-app")
	writeFile(t, dir, "project-read.hcl", "namespace \"default\" {\n  variables {\n    path \"project/*\" {\n      capabilities = [\"read\"]\n    }\n  }\n}\n")
	mgmt("acl", "policy", "apply", "-job", "vars-app", "-group", "app", "project-read", filepath.Join(dir, "project-read.hcl"))
	if code, body := httpAs(t, "GET", a.addr+"/v1/var/project/other", string(tokenBytes), ""); code != 200 || !strings.Contains(body, `"k":"v"`) {
		t.Errorf("the task reading project/other with a policy attached to its job: %d %s", code, body)
	}

	// The Task API: the agent's API on the task's secrets/api.sock, with
	// the task's identity when the request carries no token.
	sock := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(appDir, "secrets", "api.sock"))
	}}}
	resp, err := sock.Get("http://localhost/v1/var/nomad/jobs/vars-app")
	if err != nil {
		t.Fatalf("Task API socket: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), secret2) {
		t.Errorf("GET over the Task API socket: %d %s", resp.StatusCode, body)
	}

	// Rotation with -full: every variable stays readable.
	mgmt("operator", "root", "keyring", "rotate", "-full")
	waitFor(t, 60*time.Second, "the old key to be deprecated", func() (bool, string) {
		out := mgmt("operator", "root", "keyring", "list")
		return strings.Contains(out, "deprecated") && strings.Count(out, "active") == 1, out
	})
	if out := mgmt("var", "get", "-item", "password", "nomad/jobs/vars-app"); strings.TrimSpace(out) != secret2 {
		t.Errorf("var get after a full rotation: %q", out)
	}
	if out := mgmt("var", "get", "-item", "k", "project/other"); strings.TrimSpace(out) != "v" {
		t.Errorf("var get of project/other after a full rotation: %q", out)
	}

	// The plaintext is in no snapshot, nowhere in the data dir but the
	// task's own secrets/, and not in the agent's log.
	snap := filepath.Join(dir, "state.snap")
	mgmt("operator", "snapshot", "save", snap)
	for _, secret := range []string{secret1, secret2} {
		if b, _ := os.ReadFile(snap); bytes.Contains(b, []byte(secret)) {
			t.Errorf("the snapshot holds the plaintext %q", secret)
		}
		if b, _ := os.ReadFile(a.logPath); bytes.Contains(b, []byte(secret)) {
			t.Errorf("the agent log holds the plaintext %q", secret)
		}
		_ = filepath.WalkDir(a.dataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(p, string(filepath.Separator)+"secrets"+string(filepath.Separator)) {
				return nil
			}
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the plaintext %q", p, secret)
			}
			return nil
		})
	}
}

// verifyJWT checks a task's identity against the agent's JWKS with
// github.com/golang-jwt/jwt/v5, and its claims against Nomad's.
func verifyJWT(t *testing.T, addr, token, job string) {
	t.Helper()
	code, body := httpAs(t, "GET", addr+"/.well-known/jwks.json", "", "")
	var set struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg string }
	}
	if code != 200 || json.Unmarshal([]byte(body), &set) != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks.json: %d %s", code, body)
	}
	code, body = httpAs(t, "GET", addr+"/.well-known/openid-configuration", "", "")
	if code != 200 || !strings.Contains(body, `"jwks_uri"`) || !strings.Contains(body, "EdDSA") {
		t.Errorf("openid-configuration: %d %s", code, body)
	}
	keyfunc := func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		for _, k := range set.Keys {
			if k.Kid == kid && k.Kty == "OKP" && k.Crv == "Ed25519" {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				if err != nil {
					return nil, err
				}
				return ed25519.PublicKey(x), nil
			}
		}
		return nil, fmt.Errorf("no key %q in jwks.json", kid)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(token, claims, keyfunc, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithAudience("nomadproject.io"))
	if err != nil || !parsed.Valid {
		t.Fatalf("verify the task's JWT against jwks.json: %v", err)
	}
	for k, want := range map[string]string{"nomad_namespace": "default", "nomad_job_id": job, "nomad_task": "server"} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %q", k, claims[k], want)
		}
	}
	if sub, _ := claims["sub"].(string); sub != "global:default:"+job+":app:server:default" {
		t.Errorf("claim sub = %q", sub)
	}
	for _, k := range []string{"nomad_allocation_id", "iat", "nbf", "jti"} {
		if claims[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	// A policy attached to the job (acl policy apply -job) widens what its
	// identity may read.
	if code, _ := httpAs(t, "GET", addr+"/v1/var/project/other", token, ""); code != http.StatusForbidden {
		t.Errorf("the task read project/other without a job policy: %d", code)
	}
	// A tampered token is refused by the servers.
	if code, _ := httpAs(t, "GET", addr+"/v1/var/nomad/jobs/"+job, token[:len(token)-4]+"AAAA", ""); code != http.StatusForbidden {
		t.Errorf("a tampered identity read a variable: %d", code)
	}
	if code, body := httpAs(t, "GET", addr+"/v1/var/nomad/jobs/"+job, token, ""); code != 200 {
		t.Errorf("the task's own identity reading its variable: %d %s", code, body)
	}
}
