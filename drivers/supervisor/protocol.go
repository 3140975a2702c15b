package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Operations a client may ask of the supervisor, one per connection.
const (
	opPing   = "ping"
	opWait   = "wait"
	opStop   = "stop"
	opSignal = "signal"
)

// request is one JSON line sent by a client.
type request struct {
	Op      string
	Signal  int           `json:",omitempty"`
	Timeout time.Duration `json:",omitempty"`
}

// response is the supervisor's one JSON line answer.
type response struct {
	TaskID        string
	SupervisorPID int
	PID           int
	StartedAt     time.Time
	Result        *Result `json:",omitempty"`
	Error         string  `json:",omitempty"`
}

// maxSunPath is the longest path a sockaddr_un holds (108 with the NUL).
const maxSunPath = 107

// withSocketPath calls fn with a path naming the socket in dir that fits in
// a sockaddr_un: the plain path when it is short enough, otherwise a path
// through /proc/self/fd/<dirfd>, valid until fn returns.
func withSocketPath(dir string, fn func(path string) error) error {
	plain := filepath.Join(dir, SocketFile)
	if len(plain) <= maxSunPath {
		return fn(plain)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open state dir for socket: %w", err)
	}
	defer d.Close()
	return fn("/proc/self/fd/" + strconv.Itoa(int(d.Fd())) + "/" + SocketFile)
}

// dial connects to the supervisor socket in stateDir.
func dial(ctx context.Context, stateDir string) (net.Conn, error) {
	var conn net.Conn
	err := withSocketPath(stateDir, func(path string) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		conn = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connect to task supervisor at %s: %w", filepath.Join(stateDir, SocketFile), err)
	}
	return conn, nil
}

// listen binds the supervisor socket in stateDir, replacing a stale one.
func listen(stateDir string) (*net.UnixListener, error) {
	var ln *net.UnixListener
	err := withSocketPath(stateDir, func(path string) error {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove stale socket: %w", err)
		}
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			return err
		}
		// The path through /proc/self/fd is not valid later: unlink by the
		// real path ourselves on close.
		l.SetUnlinkOnClose(false)
		ln = l
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listen on supervisor socket in %s: %w", stateDir, err)
	}
	return ln, nil
}
