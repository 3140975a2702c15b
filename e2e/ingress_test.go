package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/internal/freeport"
)

// ingressJob: two instances of busybox httpd behind the ingress, routed
// by the Fabio tag urlprefix-/app (stripped) and, as raw TCP, by listen
// port. Each serves its allocation ID at /id.txt; its http check reads
// /health.txt every second.
const ingressJob = `
job "e2e-ingress" {
  datacenters = ["*"]
  group "web" {
    count = 2
    network {
      port "http" {}
    }
    service {
      name = "web"
      port = "http"
      tags = ["urlprefix-/app strip=/app", "urlprefix-:%d proto=tcp"]
      check {
        type     = "http"
        path     = "/health.txt"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "httpd" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo ok > $NOMAD_TASK_DIR/health.txt; echo $NOMAD_ALLOC_ID > $NOMAD_TASK_DIR/id.txt; exec %s httpd -f -p 127.0.0.1:$NOMAD_PORT_http -h $NOMAD_TASK_DIR"]
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

// runIngressJob starts an agent whose client runs the ingress and runs
// ingressJob on it; it returns the agent and the ingress's HTTP and TCP
// route ports.
func runIngressJob(t *testing.T) (a *agent, httpPort, tcpPort int) {
	t.Helper()
	busybox := busyboxPath(t)
	killLeftovers(t)
	httpPort, tcpPort = freeport.TCP(t), freeport.TCP(t)
	a = startAgent(t, agentOpts{clientExtra: fmt.Sprintf(`
  ingress {
    enabled   = true
    http_port = %d
    bind      = "127.0.0.1"
  }
`, httpPort)})
	dir := t.TempDir()
	f := writeFile(t, dir, "ingress.nomad.hcl", fmt.Sprintf(ingressJob, tcpPort, busybox, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	return a, httpPort, tcpPort
}

// TestIngressRoutesToHealthyInstances: requests through the ingress
// alternate between the two instances; once one instance's check fails it
// gets no more requests; the TCP route reaches the instances by port.
func TestIngressRoutesToHealthyInstances(t *testing.T) {
	a, httpPort, tcpPort := runIngressJob(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/app", httpPort)
	get := func() (string, error) { return getTrimmed(base + "/id.txt") }
	var seq []string
	waitFor(t, 60*time.Second, "requests through the ingress alternating between two instances", func() (bool, string) {
		seq = seq[:0]
		for range 4 {
			id, err := get()
			if err != nil {
				return false, err.Error()
			}
			seq = append(seq, id)
		}
		ok := seq[0] != seq[1] && seq[0] == seq[2] && seq[1] == seq[3]
		return ok, fmt.Sprintf("instances answering in order: %v", seq)
	})
	healthy, failing := seq[1], seq[0]

	// The TCP route: a raw HTTP request over the listen port.
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort), 5*time.Second)
	if err != nil {
		t.Fatalf("TCP route :%d: %v", tcpPort, err)
	}
	fmt.Fprintf(c, "GET /id.txt HTTP/1.0\r\n\r\n")
	raw, _ := io.ReadAll(c)
	c.Close()
	if !strings.Contains(string(raw), failing) && !strings.Contains(string(raw), healthy) {
		t.Fatalf("TCP route :%d answered %q, not an instance's ID", tcpPort, raw)
	}

	// One instance's check starts failing: it leaves the pool.
	if err := os.Remove(filepath.Join(a.dataDir, "alloc", failing, "httpd", "local", "health.txt")); err != nil {
		t.Fatalf("fail the check of %s: %v", failing, err)
	}
	removed := time.Now()
	waitFor(t, 15*time.Second, "the instance with a failing check to get no requests", func() (bool, string) {
		for range 4 {
			id, err := get()
			if err != nil {
				return false, err.Error()
			}
			if id == failing {
				return false, "the failing instance still answers"
			}
		}
		return true, ""
	})
	t.Logf("instance with a failing check left the pool %s after its check started failing (check interval 1s)", time.Since(removed).Round(10*time.Millisecond))
	for range 20 {
		if id, err := get(); err != nil || id != healthy {
			t.Fatalf("after the check failed: got %q, %v; want only %s", id, err, healthy)
		}
	}
	// Its check passes again: it comes back.
	if err := os.WriteFile(filepath.Join(a.dataDir, "alloc", failing, "httpd", "local", "health.txt"), []byte("ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the recovered instance to get requests again", func() (bool, string) {
		id, err := get()
		return err == nil && id == failing, fmt.Sprintf("got %q, %v", id, err)
	})
	metrics, err := http.Get(a.addr + "/v1/metrics?format=prometheus")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if !strings.Contains(string(b), `nomadlike_ingress_requests_total{code="200",route="/app"}`) {
		t.Fatalf("no per-route request metric in /v1/metrics:\n%s", b)
	}
}

// ingressRollingJob: two instances behind urlprefix-/app, updated one at a
// time; shutdown_delay keeps a stopped instance serving while the ingress
// learns it is gone.
const ingressRollingJob = `
job "e2e-ingress-roll" {
  datacenters = ["*"]
  update {
    max_parallel     = 1
    min_healthy_time = "1s"
    healthy_deadline = "30s"
  }
  group "web" {
    count          = 2
    shutdown_delay = "1s"
    network {
      port "http" {}
    }
    service {
      name = "roll"
      port = "http"
      tags = ["urlprefix-/roll strip=/roll"]
      check {
        type     = "http"
        path     = "/id.txt"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "httpd" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $VERSION $NOMAD_ALLOC_ID > $NOMAD_TASK_DIR/id.txt; exec %s httpd -f -p 127.0.0.1:$NOMAD_PORT_http -h $NOMAD_TASK_DIR"]
      }
      env {
        E2E_RUN = "%s"
        VERSION = "%s"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// TestIngressRollingUpdateServesEveryRequest: a client loop through the
// ingress counts no error while a rolling update replaces both instances.
func TestIngressRollingUpdateServesEveryRequest(t *testing.T) {
	busybox := busyboxPath(t)
	killLeftovers(t)
	httpPort := freeport.TCP(t)
	a := startAgent(t, agentOpts{clientExtra: fmt.Sprintf("  ingress {\n    enabled = true\n    http_port = %d\n    bind = \"127.0.0.1\"\n  }\n", httpPort)})
	dir := t.TempDir()
	run := func(version string) {
		f := writeFile(t, dir, "roll-"+version+".nomad.hcl", fmt.Sprintf(ingressRollingJob, busybox, runToken, version))
		if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
			t.Fatalf("job run %s: exit %d\n%s", version, code, out)
		}
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/roll/id.txt", httpPort)
	get := func() (string, error) { return getTrimmed(url) }
	run("v1")
	waitFor(t, 60*time.Second, "two v1 instances behind the ingress", func() (bool, string) {
		seen := map[string]bool{}
		for range 4 {
			s, err := get()
			if err != nil || !strings.HasPrefix(s, "v1 ") {
				return false, fmt.Sprintf("%q %v", s, err)
			}
			seen[s] = true
		}
		return len(seen) == 2, fmt.Sprintf("instances: %v", seen)
	})
	stop := make(chan struct{})
	type result struct {
		n      int
		errs   []string
		byVers map[string]int
	}
	done := make(chan result)
	go func() {
		r := result{byVers: map[string]int{}}
		for {
			select {
			case <-stop:
				done <- r
				return
			default:
			}
			s, err := get()
			r.n++
			if err != nil {
				r.errs = append(r.errs, err.Error())
				continue
			}
			v, _, _ := strings.Cut(s, " ")
			r.byVers[v]++
		}
	}()
	run("v2")
	waitFor(t, 90*time.Second, "the rolling update to replace both instances", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := a.api().JobAllocations(ctx, "e2e-ingress-roll", nil)
		if err != nil {
			return false, err.Error()
		}
		newRunning, oldLive := 0, 0
		for _, al := range allocs {
			switch {
			case al.JobVersion == 1 && al.ClientStatus == "running":
				newRunning++
			case al.JobVersion == 0 && (al.ClientStatus == "running" || al.ClientStatus == "pending"):
				oldLive++
			}
		}
		if newRunning != 2 || oldLive != 0 {
			return false, fmt.Sprintf("v2 running %d, v1 live %d", newRunning, oldLive)
		}
		s, err := get()
		return err == nil && strings.HasPrefix(s, "v2 "), fmt.Sprintf("ingress answers %q %v", s, err)
	})
	close(stop)
	r := <-done
	t.Logf("during the roll: %d requests, by version %v, %d errors", r.n, r.byVers, len(r.errs))
	if len(r.errs) > 0 {
		t.Fatalf("%d of %d requests failed during the rolling update; first: %s", len(r.errs), r.n, r.errs[0])
	}
	if r.byVers["v1"] == 0 || r.byVers["v2"] == 0 {
		t.Fatalf("the loop did not see both versions: %v", r.byVers)
	}
}

// getTrimmed GETs url and returns its body without surrounding space; a
// status other than 200 is an error quoting the body, and so is no answer
// within 5 s (a hung request must not outlast its caller's waitFor).
func getTrimmed(url string) (string, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}
