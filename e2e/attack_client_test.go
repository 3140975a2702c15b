package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Attack tests of issue 12 part A on the client side: a job submitter (not
// root on the client) tries to reach the host through task names,
// templates, artifacts and logs, on an agent with raw_exec disabled (the
// container driver runs the tasks). Each subtest sends the real request to
// a real agent and checks the host was not touched.
func TestAttackClientPaths(t *testing.T) {
	requireRoot(t, "the container driver")
	killLeftovers(t)
	hostDir := t.TempDir() // "the host": files a task must never read or write
	allowed := filepath.Join(hostDir, "artifacts")
	if err := os.MkdirAll(allowed, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, allowed, "ok.txt", "allowed artifact\n")
	a := startAgent(t, agentOpts{noRawExec: true, clientExtra: fmt.Sprintf(`
  artifact {
    filesystem_isolation_extra_paths = ["d:r:%s"]
  }`, allowed)})
	image := busyboxLayout(t)
	top := filepath.Dir(a.dataDir) // the agent's own temp dir, outside data_dir

	t.Run("task name as a path", func(t *testing.T) {
		// A task named ../../escape would have its task dir, and the
		// template's local/pwned, at data_dir/escape: anywhere, with more "..".
		body := fmt.Sprintf(`{"Job": {"ID": "attack-name", "Datacenters": ["*"], "Type": "batch", "TaskGroups": [{"Name": "g", "Tasks": [{
			"Name": "../../escape", "Driver": "container",
			"Config": {"image": "oci-layout://%s", "command": "sh", "args": ["-c", "true"]},
			"Templates": [{"EmbeddedTmpl": "pwned", "DestPath": "local/pwned"}],
			"Resources": {"CPU": 50, "MemoryMB": 32}}]}]}}`, image)
		code, msg := httpDo(t, "PUT", a.addr+"/v1/jobs", body)
		escaped := filepath.Join(a.dataDir, "escape", "local", "pwned")
		if code == http.StatusOK {
			waitFor(t, 30*time.Second, "the escaped template", func() (bool, string) {
				_, err := os.Stat(escaped)
				return err == nil, fmt.Sprint(err)
			})
			t.Fatalf("a task named ../../escape was registered and its template written to %s", escaped)
		}
		if code != http.StatusBadRequest || !strings.Contains(msg, `Tasks["../../escape"].Name`) || !strings.Contains(msg, "slashes") {
			t.Fatalf("PUT /v1/jobs with a task named ../../escape: status %d %q; want 400 naming Tasks[\"../../escape\"].Name", code, msg)
		}
	})

	t.Run("log symlinks", func(t *testing.T) {
		secret := writeFile(t, hostDir, "shadow", "root:host-secret\n")
		appendTo := writeFile(t, hostDir, "crontab", "# host crontab\n")
		script := fmt.Sprintf(`busybox rm -f /alloc/logs/box.stderr.0
busybox ln -s %s /alloc/logs/box.stderr.0
busybox ln -s %s /alloc/logs/box.stdout.1
busybox head -c 1300000 /dev/zero | busybox tr '\0' a
echo
echo > /alloc/data/done
sleep 600`, secret, appendTo)
		job := writeFile(t, t.TempDir(), "logs.nomad.hcl", fmt.Sprintf(attackBoxJob, "attack-logs", image, jsonString(script), "", runToken))
		if out, code := a.cli(".", "job", "run", "-detach", job); code != 0 {
			t.Fatalf("job run: exit %d\n%s", code, out)
		}
		alloc := runningAlloc(t, a, "attack-logs")
		allocDir := filepath.Join(a.dataDir, "alloc", alloc)
		waitFor(t, 60*time.Second, "the task to write its output", func() (bool, string) {
			_, err := os.Stat(filepath.Join(allocDir, "alloc", "data", "done"))
			return err == nil, fmt.Sprint(err)
		})
		// The supervisor rotates stdout past 1 MiB into box.stdout.1.
		waitFor(t, 30*time.Second, "stdout to rotate", func() (bool, string) {
			n := 0
			for i := 2; i < 6; i++ {
				if st, err := os.Lstat(filepath.Join(allocDir, "alloc", "logs", fmt.Sprintf("box.stdout.%d", i))); err == nil && st.Mode().IsRegular() {
					n++
				}
			}
			if b, _ := os.ReadFile(appendTo); len(b) > len("# host crontab\n") {
				return true, ""
			}
			return n > 0, "no rotated file yet"
		})
		if b, _ := os.ReadFile(appendTo); string(b) != "# host crontab\n" {
			t.Errorf("log rotation followed the task's symlink and appended %d bytes of task output to the host file %s", len(b)-len("# host crontab\n"), appendTo)
		}
		code, msg := httpDo(t, "GET", a.addr+"/v1/client/fs/logs/"+alloc+"?task=box&type=stderr&origin=start&plain=true", "")
		if strings.Contains(msg, "host-secret") {
			t.Errorf("GET /v1/client/fs/logs served the host file %s through the task's symlink: %q", secret, msg)
		}
		if code != http.StatusBadRequest {
			t.Errorf("logs of a planted symlink: status %d %q, want 400", code, msg)
		}
		code, msg = httpDo(t, "GET", a.addr+"/v1/client/fs/logs/"+alloc+"?task=box&type=stdout&origin=end&offset=10&plain=true", "")
		if code != http.StatusOK || !strings.Contains(msg, "aaa") {
			t.Errorf("stdout logs: status %d %q, want 200 with the task's output", code, msg)
		}
		stopJob(t, a, "attack-logs")
	})

	t.Run("tar artifact with a symlink chain", func(t *testing.T) {
		// dest is <data>/alloc/<id>/box/local; "up" resolves to dest, and
		// "up/esc" is created as dest/esc -> 5 levels up: the agent's temp dir.
		dirs := "d1/d2/d3/d4/d5/d6/"
		evil := tarBytes(t, []tarEntry{
			{name: dirs, dir: true},
			{name: dirs + "up", link: "../../../../../.."},
			{name: dirs + "up/esc", link: "../../../../.."},
			{name: dirs + "up/esc/pwned-tar", body: "written outside the task dir\n"},
		})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(evil) }))
		defer srv.Close()
		art := fmt.Sprintf(`artifact {
        source      = "%s/evil.tar"
        destination = "local/"
      }`, srv.URL)
		job := writeFile(t, t.TempDir(), "tar.nomad.hcl", fmt.Sprintf(attackBoxJob, "attack-tar", image, jsonString("sleep 600"), art, runToken))
		if out, code := a.cli(".", "job", "run", "-detach", job); code != 0 {
			t.Fatalf("job run: exit %d\n%s", code, out)
		}
		pwned := filepath.Join(top, "pwned-tar")
		ev := artifactOutcome(t, a, "attack-tar", pwned)
		if _, err := os.Stat(pwned); err == nil {
			t.Fatalf("the tar artifact's symlink chain wrote %s, outside the task dir", pwned)
		}
		if ev == nil || !strings.Contains(ev.DisplayMessage, "esc") {
			t.Errorf("want a %q event naming the entry, got %+v", structs.TaskArtifactDownloadFailed, ev)
		}
		stopJob(t, a, "attack-tar")
	})

	t.Run("local artifact source", func(t *testing.T) {
		secret := writeFile(t, hostDir, "id_rsa", "-----BEGIN HOST KEY-----\n")
		art := fmt.Sprintf(`artifact {
        source      = "file://%s"
        destination = "local/"
      }`, secret)
		job := writeFile(t, t.TempDir(), "local.nomad.hcl", fmt.Sprintf(attackBoxJob, "attack-local", image, jsonString("sleep 600"), art, runToken))
		if out, code := a.cli(".", "job", "run", "-detach", job); code != 0 {
			t.Fatalf("job run: exit %d\n%s", code, out)
		}
		copied := func() string {
			m, _ := filepath.Glob(filepath.Join(a.dataDir, "alloc", "*", "box", "local", "id_rsa"))
			if len(m) > 0 {
				return m[0]
			}
			return ""
		}
		ev := artifactOutcome(t, a, "attack-local", "")
		if p := copied(); p != "" {
			t.Fatalf("the host file %s was copied into the task as %s", secret, p)
		}
		if ev == nil || !strings.Contains(ev.DisplayMessage, "filesystem_isolation_extra_paths") {
			t.Errorf("want a %q event naming the setting to add, got %+v", structs.TaskArtifactDownloadFailed, ev)
		}
		stopJob(t, a, "attack-local")

		// A source inside an allowed directory is fetched.
		art = fmt.Sprintf(`artifact {
        source      = "%s"
        destination = "local/"
      }`, filepath.Join(allowed, "ok.txt"))
		job = writeFile(t, t.TempDir(), "ok.nomad.hcl", fmt.Sprintf(attackBoxJob, "allowed-local", image, jsonString("sleep 600"), art, runToken))
		if out, code := a.cli(".", "job", "run", "-detach", job); code != 0 {
			t.Fatalf("job run: exit %d\n%s", code, out)
		}
		alloc := runningAlloc(t, a, "allowed-local")
		if b, err := os.ReadFile(filepath.Join(a.dataDir, "alloc", alloc, "box", "local", "ok.txt")); err != nil || string(b) != "allowed artifact\n" {
			t.Errorf("artifact from an allowed dir: got %q, %v", b, err)
		}
		stopJob(t, a, "allowed-local")
	})

	t.Run("alloc dir destinations through planted symlinks", func(t *testing.T) {
		// Artifact and template destinations may be anywhere inside the
		// allocation directory (../alloc/..., another task's dir), as in
		// Nomad. A prestart task plants symlinks to a host dir in alloc/
		// and in its own task dir; the main task's artifact and templates
		// aim at them and must fail without touching the host dir, while
		// a plain ../alloc destination works.
		target := filepath.Join(hostDir, "planted")
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("artifact body\n")) }))
		defer srv.Close()
		job := writeFile(t, t.TempDir(), "plant.nomad.hcl", fmt.Sprintf(attackPlantJob, image, target, target, runToken, image, runToken, srv.URL))
		if out, code := a.cli(".", "job", "run", "-detach", job); code != 0 {
			t.Fatalf("job run: exit %d\n%s", code, out)
		}
		var box, fetcher *structs.TaskState
		var allocID string
		waitFor(t, 90*time.Second, "the main tasks to fail on their destinations", func() (bool, string) {
			ctx, cancel := ctx10s()
			defer cancel()
			allocs, _, err := a.api().JobAllocations(ctx, "attack-plant", nil)
			if err != nil || len(allocs) == 0 {
				return false, fmt.Sprintf("%d allocations, %v", len(allocs), err)
			}
			al, _, err := a.api().Allocation(ctx, allocs[0].ID, nil)
			if err != nil {
				return false, err.Error()
			}
			allocID = al.ID
			box, fetcher = al.TaskStates["box"], al.TaskStates["fetcher"]
			return box != nil && box.State == structs.TaskStateDead && fetcher != nil && fetcher.State == structs.TaskStateDead,
				fmt.Sprintf("box: %+v, fetcher: %+v", box, fetcher)
		})
		if entries, _ := os.ReadDir(target); len(entries) != 0 {
			t.Fatalf("writes followed the planted symlinks out of the allocation dir into %s: %v", target, entries)
		}
		for name, st := range map[string]*structs.TaskState{"box (template)": box, "fetcher (artifact)": fetcher} {
			var msgs []string
			for _, e := range st.Events {
				msgs = append(msgs, e.Type+": "+e.DisplayMessage)
			}
			if !st.Failed || !strings.Contains(strings.Join(msgs, "\n"), "plant") {
				t.Errorf("%s: failed=%v, want a failure naming the planted path; events:\n%s", name, st.Failed, strings.Join(msgs, "\n"))
			}
		}
		// The first artifact, into ../alloc/fetched, landed before the refusal.
		if b, err := os.ReadFile(filepath.Join(a.dataDir, "alloc", allocID, "alloc", "fetched", "file")); err != nil || string(b) != "artifact body\n" {
			t.Errorf("artifact into ../alloc/fetched: %q, %v", b, err)
		}
		stopJob(t, a, "attack-plant")
	})
}

// attackPlantJob: a prestart container task plants alloc/plant and
// planter/local/plant as symlinks to a host dir; the main task "box" has an
// artifact into ../alloc/fetched (fine), then one into ../alloc/plant and a
// template into ../planter/local/plant/evil (both through the symlinks).
const attackPlantJob = `
job "attack-plant" {
  datacenters = ["*"]
  type        = "batch"
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "planter" {
      lifecycle {
        hook = "prestart"
      }
      driver = "container"
      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", "busybox ln -s %s /alloc/plant && busybox ln -s %s /local/plant"]
      }
      env {
        E2E_RUN = %q
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
    task "box" {
      driver = "container"
      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", "true"]
      }
      template {
        data        = "pwned"
        destination = "../planter/local/plant/evil"
      }
      env {
        E2E_RUN = %q
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
    task "fetcher" {
      driver = "container"
      config {
        image   = "oci-layout://%[5]s"
        command = "sh"
        args    = ["-c", "true"]
      }
      artifact {
        source      = "%[7]s/file"
        destination = "../alloc/fetched"
      }
      artifact {
        source      = "%[7]s/file"
        destination = "../alloc/plant"
      }
      env {
        E2E_RUN = %[6]q
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// attackBoxJob is a batch-like service job of one container task "box"
// running sh -c <script>: job ID, image layout, script (a JSON string),
// extra task blocks, E2E_RUN.
const attackBoxJob = `
job %q {
  datacenters = ["*"]
  type        = "service"
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "box" {
      driver = "container"
      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", %s]
      }
      %s
      logs {
        max_files     = 5
        max_file_size = 1
      }
      env {
        E2E_RUN = %q
      }
      resources {
        cpu    = 50
        memory = 64
      }
    }
  }
}
`

func requireRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatalf("%s needs root and NOMADLIKE_REQUIRE_ALL=1 is set", what)
		}
		t.Skipf("%s needs root", what)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// httpDo sends one request and returns the status and body.
func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// artifactOutcome waits until the job's task failed an artifact download
// (and returns that event), or runs, or the file escaped appears.
func artifactOutcome(t *testing.T, a *agent, job, escaped string) *structs.TaskEvent {
	t.Helper()
	var ev *structs.TaskEvent
	waitFor(t, 60*time.Second, job+"'s artifact to be fetched or refused", func() (bool, string) {
		if escaped != "" {
			if _, err := os.Stat(escaped); err == nil {
				return true, ""
			}
		}
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := a.api().JobAllocations(ctx, job, nil)
		if err != nil || len(allocs) == 0 {
			return false, fmt.Sprintf("%d allocations, %v", len(allocs), err)
		}
		al, _, err := a.api().Allocation(ctx, allocs[0].ID, nil)
		if err != nil {
			return false, err.Error()
		}
		if ts := al.TaskStates["box"]; ts != nil {
			for _, e := range ts.Events {
				if e.Type == structs.TaskArtifactDownloadFailed {
					ev = e
					return true, ""
				}
			}
		}
		return al.ClientStatus == structs.AllocClientStatusRunning, "client status " + al.ClientStatus
	})
	return ev
}

// stopJob purges the job.
func stopJob(t *testing.T, a *agent, job string) {
	t.Helper()
	if out, code := a.cli(".", "job", "stop", "-purge", "-detach", job); code != 0 {
		t.Errorf("job stop: exit %d\n%s", code, out)
	}
}

// tarEntry is one entry of tarBytes: a directory, a symlink or a file.
type tarEntry struct {
	name, link, body string
	dir              bool
}

func tarBytes(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		switch {
		case e.dir:
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.body != "" {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
