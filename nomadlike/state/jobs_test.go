package state

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestUpsertJobVersionsAndIndexes(t *testing.T) {
	type want struct {
		version                                uint64
		createIndex, modifyIndex, jobModifyIdx uint64
		keptVersions                           []uint64
	}
	s := newTestStore(t)
	steps := []struct {
		name  string
		index uint64
		job   func() *structs.Job
		want  want
	}{
		{"new job is version 0", 10, func() *structs.Job { return testJob("web") },
			want{0, 10, 10, 10, []uint64{0}}},
		{"changed spec bumps version", 20, func() *structs.Job {
			j := testJob("web")
			j.TaskGroups[0].Count = 3
			return j
		}, want{1, 10, 20, 20, []uint64{1, 0}}},
		{"unchanged spec keeps version", 30, func() *structs.Job {
			j := testJob("web")
			j.TaskGroups[0].Count = 3
			j.SubmitTime = 12345 // server-set: not part of the spec
			j.Version = 99
			return j
		}, want{1, 10, 30, 30, []uint64{1, 0}}},
		{"nil and empty maps compare equal", 40, func() *structs.Job {
			j := testJob("web")
			j.TaskGroups[0].Count = 3
			j.Meta = map[string]string{}
			j.Constraints = []*structs.Constraint{}
			return j
		}, want{1, 10, 40, 40, []uint64{1, 0}}},
		{"stop is a spec change", 50, func() *structs.Job {
			j := testJob("web")
			j.TaskGroups[0].Count = 3
			j.Stop = true
			return j
		}, want{2, 10, 50, 50, []uint64{2, 1, 0}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			job := st.job()
			must(t, s.UpsertJob(st.index, job))
			got, err := s.JobByID(nil, "default", "web")
			must(t, err)
			gotW := want{got.Version, got.CreateIndex, got.ModifyIndex, got.JobModifyIndex, nil}
			versions, err := s.JobVersionsByID(nil, "default", "web")
			must(t, err)
			for _, v := range versions {
				gotW.keptVersions = append(gotW.keptVersions, v.Version)
			}
			if diff := cmp.Diff(st.want, gotW, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("stored job (-want +got):\n%s", diff)
			}
			if job.Version != got.Version || job.ModifyIndex != got.ModifyIndex {
				t.Errorf("caller's job got version %d modify index %d, want %d and %d", job.Version, job.ModifyIndex, got.Version, got.ModifyIndex)
			}
			idx, err := s.Index("jobs")
			must(t, err)
			if idx != st.index {
				t.Errorf("jobs table index = %d, want %d", idx, st.index)
			}
		})
	}
}

func TestUpsertJobStoresCopy(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(5, job))
	job.TaskGroups[0].Count = 42
	job.Meta = map[string]string{"changed": "yes"}
	got, err := s.JobByID(nil, "default", "web")
	must(t, err)
	if got.TaskGroups[0].Count != 2 || got.Meta != nil {
		t.Errorf("stored job changed with the caller's: count %d meta %v, want 2 and nil", got.TaskGroups[0].Count, got.Meta)
	}
}

func TestJobVersionsPruned(t *testing.T) {
	s := newTestStore(t)
	for i := range 10 {
		j := testJob("web")
		j.TaskGroups[0].Count = i + 1
		must(t, s.UpsertJob(uint64(100+i), j))
	}
	versions, err := s.JobVersionsByID(nil, "", "web")
	must(t, err)
	var got []uint64
	for _, v := range versions {
		got = append(got, v.Version)
	}
	if diff := cmp.Diff([]uint64{9, 8, 7, 6, 5, 4}, got); diff != "" {
		t.Errorf("kept versions (-want +got):\n%s", diff)
	}
	v, err := s.JobByIDAndVersion(nil, "default", "web", 7)
	must(t, err)
	if v == nil || v.TaskGroups[0].Count != 8 {
		t.Errorf("JobByIDAndVersion(7) = %+v, want the version with count 8", v)
	}
	old, err := s.JobByIDAndVersion(nil, "default", "web", 1)
	must(t, err)
	if old != nil {
		t.Errorf("JobByIDAndVersion(1) = version %d, want nil (pruned)", old.Version)
	}
}

func TestJobVersionsDoNotMixJobsSharingAPrefix(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertJob(1, testJob("web")))
	must(t, s.UpsertJob(2, testJob("web2")))
	versions, err := s.JobVersionsByID(nil, "default", "web")
	must(t, err)
	if len(versions) != 1 || versions[0].ID != "web" {
		t.Errorf("JobVersionsByID(web) returned %d versions, want only web's 1", len(versions))
	}
}

func TestDeleteJob(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertJob(1, testJob("web")))
	must(t, s.DeleteJob(2, "default", "web"))
	for name, check := range map[string]func() (bool, error){
		"job":      func() (bool, error) { j, err := s.JobByID(nil, "default", "web"); return j != nil, err },
		"versions": func() (bool, error) { v, err := s.JobVersionsByID(nil, "default", "web"); return len(v) > 0, err },
		"summary":  func() (bool, error) { v, err := s.JobSummaryByID(nil, "default", "web"); return v != nil, err },
	} {
		found, err := check()
		must(t, err)
		if found {
			t.Errorf("%s still present after DeleteJob", name)
		}
	}
	err := s.DeleteJob(3, "default", "web")
	if !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("DeleteJob of a missing job: got %v, want ErrNotFound", err)
	}
}

func TestJobsListsSortedAcrossNamespaces(t *testing.T) {
	s := newTestStore(t)
	for i, nsID := range [][2]string{{"prod", "b"}, {"default", "c"}, {"default", "a"}, {"prod", "a2"}} {
		j := testJob(nsID[1])
		j.Namespace = nsID[0]
		must(t, s.UpsertJob(uint64(i+1), j))
	}
	tests := []struct {
		ns, prefix string
		want       []string
	}{
		{"*", "", []string{"default/a", "prod/a2", "prod/b", "default/c"}},
		{"", "", []string{"default/a", "prod/a2", "prod/b", "default/c"}},
		{"prod", "", []string{"prod/a2", "prod/b"}},
		{"*", "a", []string{"default/a", "prod/a2"}},
		{"default", "a", []string{"default/a"}},
		{"missing", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.prefix, func(t *testing.T) {
			jobs, err := s.JobsByIDPrefix(nil, tt.ns, tt.prefix)
			must(t, err)
			var got []string
			for _, j := range jobs {
				got = append(got, j.Namespace+"/"+j.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("JobsByIDPrefix(%q, %q) (-want +got):\n%s", tt.ns, tt.prefix, diff)
			}
		})
	}
}

// ApplyJobRegister (the FSM's) stores the request's job and evaluation
// themselves and the same fields as JobRegister, which stores copies.
func TestApplyJobRegisterKeepsTheRequestsJob(t *testing.T) {
	s := newTestStore(t)
	for i, apply := range []func(uint64, *structs.JobRegisterRequest) (Result, error){s.JobRegister, s.ApplyJobRegister} {
		id := []string{"copied", "kept"}[i]
		job := testJob(id)
		eval := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: "default", JobID: id, Status: structs.EvalStatusPending, Type: job.Type}
		req := &structs.JobRegisterRequest{Job: job, Eval: eval}
		index := uint64(100 + i)
		if _, err := apply(index, req); err != nil {
			t.Fatal(err)
		}
		got, err := s.JobByID(nil, "default", id)
		must(t, err)
		if kept := got == job; kept != (id == "kept") {
			t.Errorf("%s: stored job is the request's: %v", id, kept)
		}
		if job.CreateIndex != index || job.JobModifyIndex != index || job.Status != got.Status || got.Status == "" {
			t.Errorf("%s: request's job has CreateIndex %d, JobModifyIndex %d, Status %q; stored %q at %d", id, job.CreateIndex, job.JobModifyIndex, job.Status, got.Status, index)
		}
		gotEval, err := s.EvalByID(nil, eval.ID)
		must(t, err)
		if kept := gotEval == eval; kept != (id == "kept") {
			t.Errorf("%s: stored evaluation is the request's: %v", id, kept)
		}
		if gotEval.JobModifyIndex != index || eval.JobModifyIndex != index || eval.CreateIndex != index {
			t.Errorf("%s: eval JobModifyIndex stored %d, request %d, CreateIndex %d; want %d", id, gotEval.JobModifyIndex, eval.JobModifyIndex, eval.CreateIndex, index)
		}
	}
}
