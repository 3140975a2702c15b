package server

import (
	"log/slog"
	"math/rand"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var _ scheduler.State = (*state.Snapshot)(nil)

// schedulerFactory builds the scheduler for one evaluation; it is
// scheduler.NewScheduler except in tests that need a seam.
type schedulerFactory func(jobType string, logger *slog.Logger, st scheduler.State, planner scheduler.Planner, rng *rand.Rand, now func() time.Time) (scheduler.Scheduler, error)

// schedulerTypes are the evaluation types the workers dequeue.
var schedulerTypes = []string{structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch}
