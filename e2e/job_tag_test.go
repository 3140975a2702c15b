package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestJobTagAndInspectHCL tags and untags job versions with `job tag
// apply|unset` and prints the submitted source with `job inspect -hcl`.
func TestJobTagAndInspectHCL(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	src := fmt.Sprintf(loopJob, runToken)
	file := writeFile(t, dir, "web.nomad.hcl", src)
	if out, code := a.cli(dir, "job", "run", "-detach", file); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	// A second version, with another source.
	src2 := strings.Replace(src, "count = 1", "count = 2", 1)
	if src2 == src {
		t.Fatal("the loop job has no `count = 1` to change")
	}
	if out, code := a.cli(dir, "job", "run", "-detach", writeFile(t, dir, "web.nomad.hcl", src2)); code != 0 {
		t.Fatalf("job run (version 1): exit %d\n%s", code, out)
	}

	if out, code := a.cli(dir, "job", "inspect", "-hcl", "e2e-web"); code != 0 || out != src2 {
		t.Errorf("job inspect -hcl: exit %d, want the file as submitted\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "inspect", "-hcl", "-version", "0", "e2e-web"); code != 0 || out != src {
		t.Errorf("job inspect -hcl -version 0: exit %d, want the first file\n%s", code, out)
	}

	out, code := a.cli(dir, "job", "tag", "apply", "-name", "golden", "-description", "the one to go back to", "-version", "0", "e2e-web")
	if code != 0 || !strings.Contains(out, `Job version 0 tagged with name "golden"`) {
		t.Fatalf("job tag apply -version 0: exit %d\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "tag", "apply", "-name", "current", "e2e-web")
	if code != 0 || !strings.Contains(out, `Job version 1 tagged with name "current"`) {
		t.Errorf("job tag apply (current version): exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "tag", "apply", "-name", "golden", "e2e-web"); code != 1 || !strings.Contains(out, "already exists on version 0") {
		t.Errorf("job tag apply of a taken name: exit %d, want 1\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "tag", "apply", "e2e-web"); code != 1 || !strings.Contains(out, "-name") {
		t.Errorf("job tag apply without -name: exit %d, want 1\n%s", code, out)
	}
	out, _ = a.cli(dir, "job", "history", "e2e-web")
	if !regexp.MustCompile(`Version\s+= 0\n(.*\n)*?Tag Name\s+= golden\nTag Description\s+= the one to go back to`).MatchString(out) {
		t.Errorf("job history does not show the tag of version 0:\n%s", out)
	}

	out, code = a.cli(dir, "job", "tag", "unset", "-name", "golden", "e2e-web")
	if code != 0 || !strings.Contains(out, `Tag "golden" removed from job "e2e-web"`) {
		t.Errorf("job tag unset: exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "tag", "unset", "-name", "golden", "e2e-web"); code != 1 || !strings.Contains(out, `no version of job "e2e-web" has the tag "golden"`) {
		t.Errorf("job tag unset of a removed tag: exit %d, want 1\n%s", code, out)
	}
}
