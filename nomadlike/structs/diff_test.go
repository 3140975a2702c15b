package structs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// diffBase is a small job for diff tests.
func diffBase() *Job {
	return &Job{
		ID: "web", Name: "web", Type: JobTypeService, Priority: 50, Datacenters: []string{"dc1"},
		Meta: map[string]string{"owner": "a"},
		TaskGroups: []*TaskGroup{{
			Name: "g", Count: 1,
			Constraints: []*Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}},
			Tasks: []*Task{{
				Name: "t", Driver: "raw_exec", KillTimeout: 5 * time.Second,
				Config:    map[string]any{"command": "/bin/sleep", "args": []any{"10"}},
				Resources: &Resources{CPU: 100, MemoryMB: 64},
			}},
		}},
	}
}

func TestJobDiff(t *testing.T) {
	cases := []struct {
		name string
		edit func(j *Job) *Job
		want *JobDiff
	}{
		{
			name: "no change, server fields ignored",
			edit: func(j *Job) *Job {
				j.Version, j.JobModifyIndex, j.SubmitTime, j.Status, j.Stable = 3, 99, 12345, JobStatusRunning, true
				return j
			},
			want: &JobDiff{Type: DiffTypeNone, ID: "web", TaskGroups: []*TaskGroupDiff{{
				Type: DiffTypeNone, Name: "g", Tasks: []*TaskDiff{{Type: DiffTypeNone, Name: "t"}}}}},
		},
		{
			name: "job fields, meta and datacenters",
			edit: func(j *Job) *Job {
				j.Priority = 70
				j.Meta = map[string]string{"owner": "b", "team": "x"}
				j.Datacenters = []string{"dc1", "dc2"}
				return j
			},
			want: &JobDiff{Type: DiffTypeEdited, ID: "web",
				Fields: []*FieldDiff{
					{Type: DiffTypeEdited, Name: "Meta[owner]", Old: "a", New: "b"},
					{Type: DiffTypeAdded, Name: "Meta[team]", New: "x"},
					{Type: DiffTypeEdited, Name: "Priority", Old: "50", New: "70"},
				},
				Objects: []*ObjectDiff{{Type: DiffTypeEdited, Name: "Datacenters", Fields: []*FieldDiff{
					{Type: DiffTypeNone, Name: "Datacenters", Old: "dc1", New: "dc1"},
					{Type: DiffTypeAdded, Name: "Datacenters", New: "dc2"},
				}}},
				TaskGroups: []*TaskGroupDiff{{Type: DiffTypeNone, Name: "g", Tasks: []*TaskDiff{{Type: DiffTypeNone, Name: "t"}}}},
			},
		},
		{
			name: "config map and count",
			edit: func(j *Job) *Job {
				j.TaskGroups[0].Count = 3
				j.TaskGroups[0].Tasks[0].Config["args"] = []any{"20"}
				return j
			},
			want: &JobDiff{Type: DiffTypeEdited, ID: "web", TaskGroups: []*TaskGroupDiff{{
				Type: DiffTypeEdited, Name: "g",
				Fields: []*FieldDiff{{Type: DiffTypeEdited, Name: "Count", Old: "1", New: "3"}},
				Tasks: []*TaskDiff{{Type: DiffTypeEdited, Name: "t", Objects: []*ObjectDiff{{
					Type: DiffTypeEdited, Name: "Config", Fields: []*FieldDiff{
						{Type: DiffTypeEdited, Name: "args[0]", Old: "10", New: "20"},
						{Type: DiffTypeNone, Name: "command", Old: "/bin/sleep", New: "/bin/sleep"},
					}}}}},
			}}},
		},
		{
			name: "constraint replaced",
			edit: func(j *Job) *Job {
				j.TaskGroups[0].Constraints[0].RTarget = "darwin"
				return j
			},
			want: &JobDiff{Type: DiffTypeEdited, ID: "web", TaskGroups: []*TaskGroupDiff{{
				Type: DiffTypeEdited, Name: "g",
				Objects: []*ObjectDiff{
					{Type: DiffTypeAdded, Name: "Constraint", Fields: []*FieldDiff{
						{Type: DiffTypeAdded, Name: "LTarget", New: "${attr.kernel.name}"},
						{Type: DiffTypeAdded, Name: "Operand", New: "="},
						{Type: DiffTypeAdded, Name: "RTarget", New: "darwin"},
					}},
					{Type: DiffTypeDeleted, Name: "Constraint", Fields: []*FieldDiff{
						{Type: DiffTypeDeleted, Name: "LTarget", Old: "${attr.kernel.name}"},
						{Type: DiffTypeDeleted, Name: "Operand", Old: "="},
						{Type: DiffTypeDeleted, Name: "RTarget", Old: "linux"},
					}},
				},
				Tasks: []*TaskDiff{{Type: DiffTypeNone, Name: "t"}},
			}}},
		},
		{
			name: "resources and kill timeout",
			edit: func(j *Job) *Job {
				j.TaskGroups[0].Tasks[0].Resources.MemoryMB = 128
				j.TaskGroups[0].Tasks[0].KillTimeout = 10 * time.Second
				return j
			},
			want: &JobDiff{Type: DiffTypeEdited, ID: "web", TaskGroups: []*TaskGroupDiff{{
				Type: DiffTypeEdited, Name: "g",
				Tasks: []*TaskDiff{{Type: DiffTypeEdited, Name: "t",
					Fields: []*FieldDiff{{Type: DiffTypeEdited, Name: "KillTimeout", Old: "5000000000", New: "10000000000"}},
					Objects: []*ObjectDiff{{Type: DiffTypeEdited, Name: "Resources", Fields: []*FieldDiff{
						{Type: DiffTypeNone, Name: "CPU", Old: "100", New: "100"},
						{Type: DiffTypeNone, Name: "Cores", Old: "0", New: "0"},
						{Type: DiffTypeNone, Name: "DiskMB", Old: "0", New: "0"},
						{Type: DiffTypeEdited, Name: "MemoryMB", Old: "64", New: "128"},
						{Type: DiffTypeNone, Name: "MemoryMaxMB", Old: "0", New: "0"},
					}}},
				}},
			}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := diffBase().Diff(tc.edit(diffBase()), true)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("diff mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestJobDiffGroupsAndTasks(t *testing.T) {
	added := diffBase()
	added.TaskGroups = append(added.TaskGroups, &TaskGroup{Name: "new", Count: 2, Tasks: []*Task{{Name: "n", Driver: "raw_exec"}}})
	added.TaskGroups[0].Tasks = append(added.TaskGroups[0].Tasks, &Task{Name: "side", Driver: "raw_exec"})
	removedTask := diffBase()
	removedTask.TaskGroups[0].Tasks = nil

	cases := []struct {
		name      string
		old, new  *Job
		wantJob   DiffType
		wantGroup map[string]DiffType
		wantTask  map[string]DiffType // "group/task"
	}{
		{"new job", nil, diffBase(), DiffTypeAdded, map[string]DiffType{"g": DiffTypeAdded}, map[string]DiffType{"g/t": DiffTypeAdded}},
		{"deleted job", diffBase(), nil, DiffTypeDeleted, map[string]DiffType{"g": DiffTypeDeleted}, map[string]DiffType{"g/t": DiffTypeDeleted}},
		{"group and task added", diffBase(), added, DiffTypeEdited,
			map[string]DiffType{"g": DiffTypeEdited, "new": DiffTypeAdded},
			map[string]DiffType{"g/t": DiffTypeNone, "g/side": DiffTypeAdded, "new/n": DiffTypeAdded}},
		{"task removed", diffBase(), removedTask, DiffTypeEdited,
			map[string]DiffType{"g": DiffTypeEdited}, map[string]DiffType{"g/t": DiffTypeDeleted}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.old.Diff(tc.new, true)
			if err != nil {
				t.Fatal(err)
			}
			gotGroups, gotTasks := map[string]DiffType{}, map[string]DiffType{}
			for _, g := range got.TaskGroups {
				gotGroups[g.Name] = g.Type
				for _, tk := range g.Tasks {
					gotTasks[g.Name+"/"+tk.Name] = tk.Type
				}
			}
			if got.Type != tc.wantJob || got.ID != "web" {
				t.Errorf("job diff = %s %q, want %s \"web\"", got.Type, got.ID, tc.wantJob)
			}
			if d := cmp.Diff(tc.wantGroup, gotGroups); d != "" {
				t.Errorf("groups (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantTask, gotTasks); d != "" {
				t.Errorf("tasks (-want +got):\n%s", d)
			}
		})
	}
}

func TestJobDiffDifferentIDs(t *testing.T) {
	other := diffBase()
	other.ID = "api"
	if _, err := diffBase().Diff(other, false); err == nil {
		t.Errorf("Diff of jobs web and api: got no error, want one")
	}
}

func TestVersionDiffs(t *testing.T) {
	v0, v1, v2 := diffBase(), diffBase(), diffBase()
	v1.Version, v1.Priority = 1, 60
	v2.Version, v2.Priority = 2, 70
	diffs, err := VersionDiffs([]*Job{v2, v1, v0})
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, d := range diffs {
		for _, f := range d.Fields {
			got = append(got, [2]string{f.Old, f.New})
		}
	}
	want := [][2]string{{"60", "70"}, {"50", "60"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("version diffs (-want +got):\n%s", d)
	}
	if diffs, _ := VersionDiffs([]*Job{v0}); len(diffs) != 0 {
		t.Errorf("one version: got %d diffs, want 0", len(diffs))
	}
}
