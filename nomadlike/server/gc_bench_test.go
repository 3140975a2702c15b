package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkGCPlan plans a forced pass over 2000 finished batch jobs and
// 2000 running service jobs, each with one evaluation and allocation.
func BenchmarkGCPlan(b *testing.B) {
	f := newGCFixture(b)
	f.node("n1", structs.NodeStatusReady, 0)
	for i := range 2000 {
		for _, typ := range []string{structs.JobTypeBatch, structs.JobTypeService} {
			id := fmt.Sprintf("%s-%d", typ, i)
			job := f.job(id, typ, 10*time.Hour)
			f.eval("e-"+id, job, structs.EvalStatusComplete, 9*time.Hour)
			status := structs.AllocClientStatusComplete
			if typ == structs.JobTypeService {
				status = structs.AllocClientStatusRunning
			}
			f.alloc("a-"+id, job, "e-"+id, "n1", structs.AllocDesiredStatusRun, status, 9*time.Hour)
		}
	}
	cut := GCConfig{}.withDefaults().cutoffs(f.now, true)
	b.ResetTimer()
	for b.Loop() {
		p, err := planGC(f.snapshot(), cut, f.now)
		if err != nil || len(p.jobs) != 2000 {
			b.Fatalf("planGC: %d jobs, %v", len(p.jobs), err)
		}
	}
}
