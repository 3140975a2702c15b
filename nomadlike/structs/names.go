package structs

import (
	"fmt"
	"strings"
)

// Name rules shared by jobs, groups and tasks, as Nomad's: a task name is a
// directory name on the client (<alloc dir>/<task>), so it may hold no
// slash, no NUL and may not be "." or ".."; job and group names may hold no
// NUL.

// taskNameProblem returns why name cannot be a task name, or "".
func taskNameProblem(name string) string {
	switch {
	case strings.ContainsAny(name, `/\`):
		return fmt.Sprintf("task name %q cannot include slashes ('/' or '\\'): the client uses it as a directory name; rename the task", name)
	case strings.ContainsRune(name, 0):
		return fmt.Sprintf("task name %q cannot include null characters; rename the task", name)
	case name == "." || name == "..":
		return fmt.Sprintf("task name %q is not a valid directory name; rename the task", name)
	}
	return ""
}

// nulProblem returns why a job or group name (kind names it) is refused, or "".
func nulProblem(kind, name string) string {
	if strings.ContainsRune(name, 0) {
		return fmt.Sprintf("%s name %q contains a null character; remove it", kind, name)
	}
	return ""
}
