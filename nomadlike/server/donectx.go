package server

import (
	"context"
	"time"
)

// doneContext returns a context bounded by timeout that also ends when done
// closes. Callbacks whose signature has no context (timers, the scheduler's
// Planner) use it instead of keeping a context in a struct.
func doneContext(done <-chan struct{}, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	stop := make(chan struct{})
	go func() {
		select {
		case <-done:
			cancel()
		case <-stop:
		}
	}()
	return ctx, func() { close(stop); cancel() }
}
