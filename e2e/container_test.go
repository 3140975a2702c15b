package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const containerJob = `
job "e2e-box" {
  datacenters = ["*"]
  type        = "service"

  group "box" {
    task "box" {
      driver = "container"

      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", "echo in-container pid=$$ host=$(hostname) task_dir=$NOMAD_TASK_DIR; while true; do sleep 1; done"]
        hostname = "boxhost"
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

// busyboxLayout writes an OCI layout holding a one-layer image built from
// /bin/busybox, without any registry, in imagesDir (which the harness's
// agents allow as image_paths).
func busyboxLayout(t *testing.T) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("read /bin/busybox (installed by scripts/test-deps.sh): %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data []byte) {
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))}, bb)
	for _, app := range []string{"sh", "echo", "sleep", "hostname"} {
		add(&tar.Header{Name: "bin/" + app, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.Config(img, v1.Config{Env: []string{"PATH=/bin"}}); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(imagesDir, "busybox-layout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestContainerJob runs a container job from an OCI layout through the CLI
// on a dev agent, reads its logs, and stops it.
func TestContainerJob(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal("the container driver needs root and NOMADLIKE_REQUIRE_ALL=1 is set")
		}
		t.Skip("the container driver needs root")
	}
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	jobFile := writeFile(t, dir, "box.nomad.hcl", fmt.Sprintf(containerJob, busyboxLayout(t), runToken))

	out, code := a.cli(dir, "job", "run", jobFile)
	if code != 0 {
		t.Fatalf("job run exited %d, want 0:\n%s", code, out)
	}
	var allocID string
	waitFor(t, 30*time.Second, "the container allocation to run", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-box")
		if len(live) != 1 {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		allocID = live[0].ID
		return live[0].ClientStatus == structs.AllocClientStatusRunning, "client status " + live[0].ClientStatus
	})
	waitFor(t, 20*time.Second, "the container's output in alloc logs", func() (bool, string) {
		out, code := a.cli(dir, "alloc", "logs", allocID[:8])
		return code == 0 && strings.Contains(out, "in-container pid=1 host=boxhost task_dir=/local"), out
	})

	out, code = a.cli(dir, "job", "stop", "e2e-box")
	if code != 0 {
		t.Fatalf("job stop exited %d:\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the container allocation to stop and its processes to end", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, allocID, nil)
		if err != nil {
			return false, err.Error()
		}
		pids := procsWithEnv("E2E_RUN", runToken)
		return al.DesiredStatus == structs.AllocDesiredStatusStop && al.ClientTerminalStatus() && len(pids) == 0,
			fmt.Sprintf("desired=%s client=%s pids=%v", al.DesiredStatus, al.ClientStatus, pids)
	})
}
