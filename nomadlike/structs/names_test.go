package structs

import (
	"errors"
	"strings"
	"testing"
)

// TestNameRules checks that job, group and task names that cannot be used
// as paths are refused, each naming its field.
func TestNameRules(t *testing.T) {
	cases := []struct {
		name        string
		edit        func(j *Job)
		field, want string // want "" means valid
	}{
		{"plain task", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "web-1.x_y" }, "", ""},
		{"task with slash", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "../../../../etc/cron.d/x" }, `TaskGroups["web"].Tasks["../../../../etc/cron.d/x"].Name`, "cannot include slashes"},
		{"task with backslash", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = `a\b` }, `TaskGroups["web"].Tasks["a\\b"].Name`, "cannot include slashes"},
		{"task dotdot", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = ".." }, `TaskGroups["web"].Tasks[".."].Name`, "not a valid directory name"},
		{"task dot", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "." }, `TaskGroups["web"].Tasks["."].Name`, "not a valid directory name"},
		{"task NUL", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "a\x00b" }, `TaskGroups["web"].Tasks["a\x00b"].Name`, "null characters"},
		{"group NUL", func(j *Job) { j.TaskGroups[0].Name = "w\x00" }, `TaskGroups["w\x00"].Name`, "null character"},
		{"job name NUL", func(j *Job) { j.Name = "n\x00" }, "Name", "null character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := updateJob(nil, nil, JobTypeBatch)
			c.edit(j)
			j.Canonicalize()
			err := j.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate: %v, want a ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.Field == c.field && strings.Contains(p.Msg, c.want) {
					return
				}
			}
			t.Fatalf("Validate: %v\nwant a problem at %s containing %q", err, c.field, c.want)
		})
	}
}
