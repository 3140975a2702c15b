package drivers

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ParseSignal turns a signal name as jobs write it ("SIGHUP", "HUP",
// "sigterm") or a number ("15") into a signal. An empty name is an error:
// callers choose their own default (usually SIGTERM).
func ParseSignal(name string) (syscall.Signal, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "" {
		return 0, fmt.Errorf("signal name is empty: use a name such as \"SIGTERM\" or \"SIGHUP\"")
	}
	if num, err := strconv.Atoi(n); err == nil {
		if num <= 0 || num > 64 {
			return 0, fmt.Errorf("signal %q: number out of range 1-64", name)
		}
		return syscall.Signal(num), nil
	}
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	sig := unix.SignalNum(n)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q: use a name such as \"SIGTERM\", \"SIGINT\", \"SIGHUP\", \"SIGUSR1\" or \"SIGKILL\"", name)
	}
	return sig, nil
}

// SignalOrDefault parses name, returning def when name is empty.
func SignalOrDefault(name string, def syscall.Signal) (syscall.Signal, error) {
	if strings.TrimSpace(name) == "" {
		return def, nil
	}
	return ParseSignal(name)
}
