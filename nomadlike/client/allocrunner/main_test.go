package allocrunner

import (
	"os"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
)

// TestMain keeps the tasks' secrets dirs plain directories: the tests'
// temporary dirs are removed without destroying every allocation, and a
// tmpfs left mounted would make that fail (allocdir tests the tmpfs).
func TestMain(m *testing.M) {
	os.Setenv(allocdir.SecretsTmpfsEnv, "0")
	os.Exit(m.Run())
}
