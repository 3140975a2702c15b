package allocrunner

import (
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// A driver's start warnings (e.g. "running without a seccomp profile") reach
// the user as a Driver task event, not only the task's log.
func TestStartWarningsBecomeTaskEvents(t *testing.T) {
	task := shTask("main", "", false, "exit 0")
	task.Config["warning"] = "running without a seccomp profile: built without libseccomp"
	a := startRunner(t, structs.JobTypeBatch, task).wait(t)
	for _, e := range a.TaskStates["main"].Events {
		if e.Type == structs.TaskDriverMessage && strings.Contains(e.DisplayMessage, "seccomp") {
			return
		}
	}
	t.Fatalf("no Driver event with the start warning; events:\n%s", describe(a))
}
