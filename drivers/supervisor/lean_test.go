package supervisor

import (
	"slices"
	"testing"
)

func TestSupervisorEnvSetsOneProc(t *testing.T) {
	got := supervisorEnv([]string{"PATH=/bin", "GOMAXPROCS=8", "HOME=/root"})
	want := []string{"PATH=/bin", "HOME=/root", "GOMAXPROCS=1"}
	if !slices.Equal(got, want) {
		t.Errorf("supervisorEnv = %q, want %q", got, want)
	}
}
