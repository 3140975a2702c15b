package rawexec

import (
	"context"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
)

func TestLatencyTmp(t *testing.T) {
	d := New(Config{Enabled: true}, nil)
	defer d.Close()
	for i := 0; i < 5; i++ {
		cfg := drivertest.TaskConfig(t, "bench", map[string]any{"command": "/bin/true"})
		t0 := time.Now()
		if _, err := d.StartTask(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		wait(t, d, cfg.ID)
		t2 := time.Now()
		t.Logf("start %v wait %v", t1.Sub(t0), t2.Sub(t1))
	}
}
