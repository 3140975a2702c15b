package structs

import (
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
