package rawexec

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/drivers/supervised"
)

func TestMain(m *testing.M) { drivertest.RunMain(m) }

// testTimeout bounds every driver call in these tests.
const testTimeout = 30 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newDriver returns an enabled driver closed at the end of the test.
func newDriver(t testing.TB) *Driver {
	d := New(Config{Enabled: true}, testLogger(t))
	t.Cleanup(d.Close)
	return d
}

// shTask is a task running `sh -c script`.
func shTask(t testing.TB, script string) *drivers.TaskConfig {
	return drivertest.TaskConfig(t, "web", map[string]any{"command": "/bin/sh", "args": []any{"-c", script}})
}

func start(t testing.TB, d *Driver, cfg *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	h, err := d.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		err := d.DestroyTask(ctx, cfg.ID, true)
		if err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
			t.Errorf("cleanup DestroyTask: %v", err)
		}
	})
	return h
}

// wait waits for the task's exit result.
func wait(t testing.TB, d *Driver, id string) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	res, ok := <-ch
	if !ok {
		t.Fatalf("WaitTask: no result within %v", testTimeout)
	}
	return res
}

// driverState and stateVersion name raw_exec's DriverState encoding (see
// package supervised) for the tests that read or forge a handle.
type driverState = supervised.State

const stateVersion = supervised.StateVersion
