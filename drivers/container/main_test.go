package container

import (
	"os"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
)

// TestMain lets the test binary act as a container's init and as the task
// supervisor, as the nomadlike binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" && os.Getenv("_LIBCONTAINER_INITPIPE") != "" {
		libcontainer.Init()
	}
	drivertest.RunMain(m)
}
