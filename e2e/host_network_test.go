package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const hostNetworkJob = `
job "e2e-hostnet" {
  datacenters = ["*"]
  group "bridged" {
    network {
      mode = "bridge"
      port "http" {
        to           = 80
        host_network = "lab"
      }
      port "rtp" {
        count        = 3
        to           = 7000
        host_network = "lab"
      }
    }
    task "web" {
      driver = "container"
      config {
        image   = "oci-layout://%[1]s"
        command = "sh"
        args    = ["-c", "busybox mkdir -p /local/www /local/rtp && echo \"bridged on $NOMAD_HOST_IP_http\" > /local/www/index.html && echo \"rtp $NOMAD_PORT_rtp_RANGE on $NOMAD_HOST_PORT_rtp_RANGE\" > /local/rtp/index.html && busybox httpd -p 7002 -h /local/rtp && exec busybox httpd -f -p 80 -h /local/www"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
  group "host" {
    network {
      port "http" {
        host_network = "lab"
      }
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "mkdir -p $NOMAD_TASK_DIR/www && echo \"host on $NOMAD_IP_http\" > $NOMAD_TASK_DIR/www/index.html && exec /bin/busybox httpd -f -p $NOMAD_ADDR_http -h $NOMAD_TASK_DIR/www"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

const hostNetworkMissingJob = `
job "e2e-hostnet-missing" {
  datacenters = ["*"]
  group "g" {
    network {
      port "http" {
        host_network = "elsewhere"
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      env {
        E2E_RUN = "%s"
      }
    }
  }
}
`

// TestHostNetworkPorts gives the client a host network "lab" (the address
// of a veth interface of the test's own, so traffic stays on this host)
// and one whose cidr matches no address. A bridge-mode group's port on
// "lab" is mapped on that address only (not on loopback), a host-mode
// task binds the address its NOMAD_ADDR names, and a job asking for the
// network the node lacks is not placed, the node filtered with a reason
// naming the network and the port. The bridged group also maps a range of
// 3 ports (portmap entries port by port), reached on its third port.
func TestHostNetworkPorts(t *testing.T) {
	l := newBridgeLab(t)
	killLeftovers(t)
	// The lab network's address is on one end of a veth pair whose other
	// end is in a network namespace of the test's own (no dummy interfaces
	// in every kernel): an address of this host that routes nowhere else.
	dummy := fmt.Sprintf("nlhn%d", os.Getpid()%100000)
	peerNS := dummy + "-ns" // not "nomadlike-...": bridge tests count those
	addr := fmt.Sprintf("198.18.%d.1", os.Getpid()%200+20)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", dummy).Run()
		_ = exec.Command("ip", "netns", "del", peerNS).Run()
	})
	for _, args := range [][]string{
		{"netns", "add", peerNS},
		{"link", "add", dummy, "type", "veth", "peer", "name", dummy + "p", "netns", peerNS},
		{"addr", "add", addr + "/32", "dev", dummy},
		{"link", "set", dummy, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	a := startAgent(t, agentOpts{clientExtra: l.clientHCL("") + fmt.Sprintf(`
  host_network "lab" {
    interface = %q
  }
  host_network "elsewhere" {
    cidr = "203.0.113.0/24"
  }
`, dummy)})
	dir := t.TempDir()
	image := busyboxLayout(t)

	// Egress from the bridge is blocked before anything else runs.
	out := runBatchToEnd(t, a, l, dir, "egress", fmt.Sprintf(egressJob, image, runToken), "probe")
	if !strings.Contains(string(out), "EGRESS-BLOCKED") || strings.Contains(string(out), "EGRESS-OPEN") {
		t.Fatalf("egress probe output:\n%s", out)
	}

	writeFile(t, dir, "hostnet.nomad.hcl", fmt.Sprintf(hostNetworkJob, image, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "hostnet.nomad.hcl"); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	ports := map[string]structs.PortMapping{} // group -> its http port
	var rtp structs.PortMapping               // the bridged group's range
	waitFor(t, 90*time.Second, "both groups running", func() (bool, string) {
		r := runningAllocs(t, a, "e2e-hostnet")
		for _, s := range r {
			l.owns[s.ID] = true
			ctx, cancel := ctx10s()
			al, _, err := a.api().Allocation(ctx, s.ID, nil)
			cancel()
			if err != nil {
				return false, err.Error()
			}
			for _, pm := range al.AllocatedResources.Shared.Ports {
				if pm.Label == "http" {
					ports[al.TaskGroup] = pm
				} else {
					rtp = pm
				}
			}
		}
		return len(r) == 2, fmt.Sprintf("%d running", len(r))
	})
	for group, pm := range ports {
		if pm.HostIP != addr {
			t.Fatalf("group %s port on %s, want the lab network's %s", group, pm.HostIP, addr)
		}
		want := fmt.Sprintf("%s on %s", map[string]string{"bridged": "bridged", "host": "host"}[group], addr)
		waitFor(t, 30*time.Second, fmt.Sprintf("group %s at %s:%d", group, addr, pm.Value), func() (bool, string) {
			body, err := httpGet(fmt.Sprintf("http://%s:%d/", addr, pm.Value))
			return err == nil && strings.TrimSpace(body) == want, fmt.Sprintf("%q %v, want %q", body, err, want)
		})
		if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", pm.Value)); err == nil {
			t.Errorf("group %s answers on 127.0.0.1:%d too (%q): its port must be bound to %s only", group, pm.Value, body, addr)
		}
	}

	// The range: host port first+2 reaches port 7002 inside, on the lab address.
	if rtp.Count != 3 || rtp.To != 7000 || rtp.HostIP != addr {
		t.Fatalf("rtp mapping %+v, want 3 ports to 7000 on %s", rtp, addr)
	}
	wantRTP := fmt.Sprintf("rtp 7000-7002 on %d-%d", rtp.Value, rtp.Value+2)
	waitFor(t, 30*time.Second, fmt.Sprintf("the range's third port at %s:%d", addr, rtp.Value+2), func() (bool, string) {
		body, err := httpGet(fmt.Sprintf("http://%s:%d/", addr, rtp.Value+2))
		return err == nil && strings.TrimSpace(body) == wantRTP, fmt.Sprintf("%q %v, want %q", body, err, wantRTP)
	})

	// The node reports its host networks (the official client reads them).
	c, err := nomad.NewClient(&nomad.Config{Address: a.addr})
	if err != nil {
		t.Fatal(err)
	}
	nodes, _, err := c.Nodes().List(nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("Nodes().List: %d nodes, %v", len(nodes), err)
	}
	node, _, err := c.Nodes().Info(nodes[0].ID, nil)
	if err != nil || node.HostNetworks["lab"] == nil || node.HostNetworks["lab"].Interface != dummy {
		t.Fatalf("official client: node host networks %+v, %v; want lab on %s", node.HostNetworks, err, dummy)
	}

	// A port on a host network the node lacks: filtered, with the reason.
	writeFile(t, dir, "missing.nomad.hcl", fmt.Sprintf(hostNetworkMissingJob, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "missing.nomad.hcl"); code != 0 {
		t.Fatalf("job run missing exited %d:\n%s", code, out)
	}
	reason := `missing host network "elsewhere" for port "http"`
	waitPlacementFailed(t, a, "e2e-hostnet-missing", "g", "with a node filtered by "+reason, func(m *structs.AllocMetric) bool {
		return m.ConstraintFiltered[reason] == 1
	})
	if out, code := a.cli(dir, "job", "stop", "-purge", "e2e-hostnet"); code != 0 {
		t.Fatalf("job stop exited %d:\n%s", code, out)
	}
}
