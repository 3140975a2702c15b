package structs

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckNoNullElements(t *testing.T) {
	ok := &Job{ID: "j", TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t", Config: map[string]any{"x": nil, "l": []any{nil}}}}}}}
	if err := CheckNoNullElements(ok, "Job"); err != nil {
		t.Errorf("a job without nil elements (null inside task config is allowed): %v", err)
	}
	cases := map[string]*Job{
		"Job.TaskGroups[0]":                            {TaskGroups: []*TaskGroup{nil}},
		"Job.TaskGroups[0].Tasks[1]":                   {TaskGroups: []*TaskGroup{{Tasks: []*Task{{}, nil}}}},
		"Job.TaskGroups[0].Spreads[0].SpreadTarget[0]": {TaskGroups: []*TaskGroup{{Spreads: []*Spread{{SpreadTarget: []*SpreadTarget{nil}}}}}},
		"Job.Constraints[0]":                           {Constraints: []*Constraint{nil}},
	}
	for want, job := range cases {
		err := CheckNoNullElements(job, "Job")
		if err == nil || !strings.Contains(err.Error(), want+" is null") {
			t.Errorf("want %q named, got %v", want, err)
		}
	}
}

// BenchmarkCheckNoNullElements walks a canonical job with two groups, as
// every registration does (twice).
func BenchmarkCheckNoNullElements(b *testing.B) {
	job := &Job{ID: "web", Type: JobTypeService}
	for _, g := range []string{"a", "b"} {
		job.TaskGroups = append(job.TaskGroups, &TaskGroup{Name: g, Count: 2, Tasks: []*Task{{Name: "t", Driver: "raw_exec",
			Config: map[string]any{"command": "/bin/sleep", "args": []any{"60"}}, Resources: &Resources{CPU: 100, MemoryMB: 64}}}})
	}
	job.Canonicalize()
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckNoNullElements(job, "Job"); err != nil {
			b.Fatal(err)
		}
	}
}

// nullTree is a recursive type with a list of pointers below itself.
type nullTree struct {
	Name     string
	Children []*nullTree
	Any      any
	ByName   map[string]*nullTree
	unseen   []*nullTree
}

// TestCheckNoNullElementsSkipsOnlyNullFreeFields: the walk skips the
// fields whose type cannot hold a nil element (walkedFields), and still
// finds one in a recursive type, behind an interface and in a map.
func TestCheckNoNullElementsSkipsOnlyNullFreeFields(t *testing.T) {
	cases := map[string]any{
		"T.Children[0].Children[1]": &nullTree{Children: []*nullTree{{Children: []*nullTree{{}, nil}}}},
		"T.Any[0]":                  &nullTree{Any: []*Constraint{nil}},
		"T.Any.Constraints[0]":      nullTree{Any: &Job{Constraints: []*Constraint{nil}}},
		"T.ByName[a].Children[0]":   &nullTree{ByName: map[string]*nullTree{"a": {Children: []*nullTree{nil}}}},
		"T.ByName[b]":               &nullTree{ByName: map[string]*nullTree{"b": nil}},
	}
	for want, v := range cases {
		err := CheckNoNullElements(v, "T")
		if err == nil || !strings.Contains(err.Error(), want+" is null") {
			t.Errorf("want %q named, got %v", want, err)
		}
	}
	if err := CheckNoNullElements(&nullTree{unseen: []*nullTree{nil}, Any: []any{nil}}, "T"); err != nil {
		t.Errorf("an unexported field and null in a list of interfaces are not checked: %v", err)
	}
	if got := walkedFields(reflect.TypeFor[RestartPolicy]()); len(got) != 0 {
		t.Errorf("RestartPolicy has no field that may hold a nil element, got fields %v walked", got)
	}
}
