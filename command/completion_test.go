package command

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCompletion: the bash and zsh scripts are generated (bash's parses),
// cobra's __complete answers for our commands, and another shell is
// refused naming the two.
func TestCompletion(t *testing.T) {
	code, out, errOut := runCLI(t, "", "completion", "bash")
	if code != 0 || !strings.Contains(out, "__start_nomadlike") {
		t.Fatalf("completion bash: exit %d, stderr %q, script without __start_nomadlike", code, errOut)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bash, "-n")
		cmd.Stdin = strings.NewReader(out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("bash -n on the completion script: %v\n%s", err, b)
		}
	}
	if code, out, _ := runCLI(t, "", "completion", "zsh"); code != 0 || !strings.HasPrefix(out, "#compdef nomadlike") {
		t.Errorf("completion zsh: exit %d, script starts %.40q", code, out)
	}
	if code, out, _ := runCLI(t, "", "__complete", "job", "lo"); code != 0 || !strings.Contains(out, "logs\t") {
		t.Errorf("__complete job lo: exit %d, %q, want the logs command", code, out)
	}
	if code, _, errOut := runCLI(t, "", "completion", "fish"); code != 1 || !strings.Contains(errOut, "use bash or zsh") {
		t.Errorf("completion fish: exit %d, stderr %q, want 1 naming bash and zsh", code, errOut)
	}
}
