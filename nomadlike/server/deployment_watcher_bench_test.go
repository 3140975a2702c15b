package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// benchDeployment is a running deployment of a job the store does not
// hold, so a step of it returns at once without a Raft write.
func benchDeployment(i int) *structs.Deployment {
	return &structs.Deployment{ID: fmt.Sprintf("dep-%08d", i), Namespace: structs.DefaultNamespace,
		JobID: fmt.Sprintf("job-%08d", i), Status: structs.DeploymentStatusRunning,
		TaskGroups: map[string]*structs.DeploymentState{"web": {DesiredTotal: 1}}}
}

// BenchmarkDeploymentWatcherWake: one wake of the deployment watcher after
// one of n running deployments changed.
func BenchmarkDeploymentWatcherWake(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run(fmt.Sprintf("active=%d", n), func(b *testing.B) {
			st, err := state.NewStore()
			if err != nil {
				b.Fatal(err)
			}
			seedDeployments(b, st, n)
			s := &Server{state: st, logger: discardLogger()}
			w := newDeploymentWatcher(s)
			ctx := context.Background()
			if _, err := w.once(ctx, memdb.NewWatchSet(), time.Now()); err != nil {
				b.Fatal(err)
			}
			index := uint64(10 + n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				index++
				if err := st.UpsertDeployment(index, benchDeployment(i%n)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := w.once(ctx, memdb.NewWatchSet(), time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
