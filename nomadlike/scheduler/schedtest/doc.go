// Package schedtest holds what scheduler tests share: an in-memory State,
// a Harness that implements scheduler.Planner by applying plans to that
// state (and can refuse a node to simulate a partial commit), and fixtures
// (Node, Job, BatchJob, Eval) shaped like Nomad's mock package.
//
// Nothing here is safe for concurrent use: a test drives one Harness from
// one goroutine, as a server worker drives one scheduler.
package schedtest
