package agent

import (
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
)

// TestMain lets the test binary act as the raw_exec task supervisor, and
// keeps the tasks' secrets dirs plain directories (a tmpfs left mounted in
// a test's temporary data dir would make its removal fail; allocdir and
// e2e test the tmpfs).
func TestMain(m *testing.M) {
	os.Setenv(allocdir.SecretsTmpfsEnv, "0")
	drivertest.RunMain(m)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (n int, err error) {
	// A library goroutine (memberlist's suspicion timers) may log after
	// the test ended, when t.Log panics: drop that line.
	defer func() { _ = recover() }()
	n = len(p)
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return n, nil
}
