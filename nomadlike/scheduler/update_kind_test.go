package scheduler_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func annotateJob() *structs.Job {
	return &structs.Job{ID: "web", TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 2, EphemeralDisk: &structs.EphemeralDisk{SizeMB: 300},
		Tasks: []*structs.Task{{
			Name: "t", Driver: "raw_exec", KillTimeout: 5 * time.Second,
			Config:    map[string]any{"command": "/bin/sleep"},
			Resources: &structs.Resources{CPU: 100, MemoryMB: 64},
		}},
	}}}
}

func TestAnnotate(t *testing.T) {
	cases := []struct {
		name      string
		old       *structs.Job
		edit      func(*structs.Job)
		wantTask  []string
		wantCount []string
	}{
		{"config", annotateJob(), func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true" },
			[]string{scheduler.AnnotationForcesDestructiveUpdate}, nil},
		{"resources", annotateJob(), func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMB = 128 },
			[]string{scheduler.AnnotationForcesDestructiveUpdate}, nil},
		{"kill timeout", annotateJob(), func(j *structs.Job) { j.TaskGroups[0].Tasks[0].KillTimeout = time.Minute },
			[]string{scheduler.AnnotationForcesInplaceUpdate}, nil},
		{"constraint", annotateJob(), func(j *structs.Job) {
			j.TaskGroups[0].Tasks[0].Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}}
		}, []string{scheduler.AnnotationForcesInplaceUpdate}, nil},
		{"group disk with a task change", annotateJob(), func(j *structs.Job) {
			j.TaskGroups[0].EphemeralDisk.SizeMB = 500
			j.TaskGroups[0].Tasks[0].KillTimeout = time.Minute
		}, []string{scheduler.AnnotationForcesDestructiveUpdate}, nil},
		{"count down", annotateJob(), func(j *structs.Job) { j.TaskGroups[0].Count = 1 },
			nil, []string{scheduler.AnnotationForcesDestroy}},
		{"new job", nil, func(*structs.Job) {}, []string{scheduler.AnnotationForcesCreate}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			updated := annotateJob()
			tc.edit(updated)
			d, err := tc.old.Diff(updated, true)
			if err != nil {
				t.Fatal(err)
			}
			ann := &structs.PlanAnnotations{DesiredTGUpdates: map[string]*structs.DesiredUpdates{"g": {Place: 1, Ignore: 1}}}
			scheduler.Annotate(d, tc.old, updated, ann)
			g := d.TaskGroups[0]
			if diff := cmp.Diff(map[string]uint64{"create": 1, "ignore": 1}, g.Updates); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantTask, g.Tasks[0].Annotations); diff != "" {
				t.Errorf("task annotations (-want +got):\n%s", diff)
			}
			var gotCount []string
			for _, f := range g.Fields {
				if f.Name == "Count" {
					gotCount = f.Annotations
				}
			}
			if diff := cmp.Diff(tc.wantCount, gotCount); diff != "" {
				t.Errorf("count annotations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDestructiveChange checks the exported form of the reconciler's
// in-place vs create/destroy rule.
func TestDestructiveChange(t *testing.T) {
	cases := []struct {
		name string
		edit func(*structs.TaskGroup)
		want bool
	}{
		{"nothing", func(*structs.TaskGroup) {}, false},
		{"env", func(tg *structs.TaskGroup) { tg.Tasks[0].Env = map[string]string{"A": "1"} }, true},
		{"count", func(tg *structs.TaskGroup) { tg.Count = 5 }, false},
		{"kill timeout", func(tg *structs.TaskGroup) { tg.Tasks[0].KillTimeout = time.Minute }, false},
		{"disk", func(tg *structs.TaskGroup) { tg.EphemeralDisk.SizeMB = 1 }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old, updated := annotateJob().TaskGroups[0], annotateJob().TaskGroups[0]
			tc.edit(updated)
			if got, why := scheduler.DestructiveChange(old, updated); got != tc.want {
				t.Errorf("DestructiveChange = %t (%s), want %t", got, why, tc.want)
			}
		})
	}
}
