//go:build !race

package memdb

// raceEnabled is set when the tests run with the race detector, whose
// instrumentation changes allocation counts.
const raceEnabled = false
