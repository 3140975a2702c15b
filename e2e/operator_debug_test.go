package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readBundle opens a tar.gz and returns its files by path below the top
// directory.
func readBundle(t *testing.T, path string) map[string][]byte {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatalf("open bundle: %v", err)
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatalf("bundle is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("bundle tar: %v", err)
		}
		_, name, ok := strings.Cut(h.Name, "/")
		if !ok {
			t.Fatalf("bundle entry %q is not under a top directory", h.Name)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	return files
}

// TestOperatorDebugBundle runs `operator debug` against an agent with
// enable_debug and a running job, opens the tar.gz and checks each part:
// the agent's configuration, members, Raft configuration, metrics, the node
// and the job in the summaries, real profiles (gzip-compressed pprof data,
// goroutine dumps naming this program's functions) and the log recorded
// during the run. Against an agent without enable_debug the bundle is still
// written, and errors.txt says why the profiles are missing.
func TestOperatorDebugBundle(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{extra: "enable_debug = true\n"})
	dir := t.TempDir()
	if out, code := a.cli(dir, "job", "run", "-min-healthy-time=0s", writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(loopJob, runToken))); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	bundle := filepath.Join(dir, "bundle.tar.gz")
	out, code := a.cli(dir, "operator", "debug", "-duration", "3s", "-pprof-duration", "1s", "-output", bundle)
	if code != 0 {
		t.Fatalf("operator debug: exit %d\n%s", code, out)
	}
	files := readBundle(t, bundle)
	if e, ok := files["errors.txt"]; ok {
		t.Errorf("errors.txt with enable_debug on:\n%s", e)
	}
	var self struct {
		Config map[string]any
		Member map[string]any
	}
	if err := json.Unmarshal(files["agent-self.json"], &self); err != nil || self.Config == nil {
		t.Errorf("agent-self.json: %v, %.200q", err, files["agent-self.json"])
	}
	wants := map[string]string{
		"agent-members.json":         `"Members"`,
		"raft-configuration.json":    `"Servers"`,
		"metrics.json":               `"Gauges"`,
		"nodes.json":                 `"Status":"ready"`,
		"jobs.json":                  `"ID":"e2e-web"`,
		"allocations.json":           `"JobID":"e2e-web"`,
		"pprof/goroutine-debug2.txt": "github.com/nomadlike/nomadlike/",
		"agent.log":                  "level=",
		"index.txt":                  "duration: 3s",
	}
	for name, want := range wants {
		if !bytes.Contains(files[name], []byte(want)) {
			t.Errorf("%s lacks %q: %.300q", name, want, files[name])
		}
	}
	for _, p := range []string{"pprof/profile.prof", "pprof/heap.prof", "pprof/goroutine.prof", "pprof/allocs.prof"} {
		if b := files[p]; len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is not a gzip-compressed pprof profile (%d bytes)", p, len(b))
		}
	}
	if len(files["pprof/trace.out"]) == 0 {
		t.Errorf("pprof/trace.out is empty")
	}

	off := startAgent(t, agentOpts{})
	bundle2 := filepath.Join(dir, "off.tar.gz")
	if out, code := off.cli(dir, "operator", "debug", "-duration", "1s", "-pprof-duration", "1s", "-output", bundle2); code != 0 {
		t.Fatalf("operator debug without enable_debug: exit %d\n%s", code, out)
	}
	files = readBundle(t, bundle2)
	if e := string(files["errors.txt"]); !strings.Contains(e, "pprof/ (all profiles)") || !strings.Contains(e, "enable_debug") {
		t.Errorf("errors.txt without enable_debug does not say why the profiles are missing:\n%s", e)
	}
	if !bytes.Contains(files["nodes.json"], []byte(`"Status":"ready"`)) {
		t.Errorf("nodes.json missing from the bundle without profiles")
	}
}
