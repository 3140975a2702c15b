package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeQMP is a QMP server speaking the protocol as QEMU 7.2 does: a
// greeting, capabilities negotiation required before any other command,
// replies, and events (POWERDOWN before system_powerdown's reply, as QEMU
// emits it).
type fakeQMP struct {
	ln       net.Listener
	greeting string
	mu       sync.Mutex
	commands []string
	done     chan struct{}
}

// startFakeQMP serves QMP on path (which may exceed sun_path: it binds
// through /proc/self/fd like dialUnix connects).
func startFakeQMP(t *testing.T, path, greeting string) *fakeQMP {
	t.Helper()
	bindPath := path
	if len(path) >= maxUnixPath {
		dir, err := os.Open(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		defer dir.Close()
		bindPath = fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path))
	}
	ln, err := net.Listen("unix", bindPath)
	if err != nil {
		t.Fatalf("listen on %s: %v", path, err)
	}
	f := &fakeQMP{ln: ln, greeting: greeting, done: make(chan struct{})}
	go f.serve()
	t.Cleanup(func() {
		ln.Close()
		<-f.done
	})
	return f
}

const qemuGreeting = `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}`

func (f *fakeQMP) serve() {
	defer close(f.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			f.session(conn)
		}()
	}
}

func (f *fakeQMP) session(conn net.Conn) {
	w := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
	w(f.greeting)
	negotiated := false
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		var req struct {
			Execute string `json:"execute"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			w(`{"error": {"class": "GenericError", "desc": "JSON parse error"}}`)
			continue
		}
		f.mu.Lock()
		f.commands = append(f.commands, req.Execute)
		f.mu.Unlock()
		switch {
		case req.Execute == "qmp_capabilities" && !negotiated:
			negotiated = true
			w(`{"return": {}}`)
		case !negotiated:
			w(`{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}}`)
		case req.Execute == "system_powerdown":
			w(`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "POWERDOWN"}`)
			w(`{"return": {}}`)
		case req.Execute == "quit_later":
			w(`{"return": {}}`)
			w(`{"timestamp": {"seconds": 3, "microseconds": 4}, "event": "RESUME"}`)
			w(`{"timestamp": {"seconds": 5, "microseconds": 6}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}`)
		default:
			w(fmt.Sprintf(`{"error": {"class": "CommandNotFound", "desc": "The command %s has not been found"}}`, req.Execute))
		}
	}
}

func (f *fakeQMP) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...)
}

func TestQMP(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(long, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dir  string
	}{
		{"short path", t.TempDir()},
		{"path longer than sun_path", long},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(c.dir, qmpSocketName)
			if c.dir == long && len(path) < maxUnixPath {
				t.Fatalf("test path %q is only %d bytes", path, len(path))
			}
			srv := startFakeQMP(t, path, qemuGreeting)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := dialQMP(ctx, path)
			if err != nil {
				t.Fatalf("dialQMP: %v", err)
			}
			defer c.Close()
			if c.version != "7.2.22" {
				t.Errorf("version = %q, want 7.2.22", c.version)
			}
			if _, err := c.execute(ctx, "system_powerdown", nil); err != nil {
				t.Fatalf("system_powerdown: %v", err)
			}
			ev, err := c.waitEvent(ctx, "POWERDOWN")
			if err != nil || ev.Timestamp.Seconds != 1 || ev.Timestamp.Microseconds != 2 {
				t.Errorf("POWERDOWN event = %+v, %v; want the one sent before the reply, with its timestamp", ev, err)
			}
			_, err = c.execute(ctx, "no_such_command", nil)
			var qe *qmpError
			if !errors.As(err, &qe) || qe.Class != "CommandNotFound" || !strings.Contains(err.Error(), "qmp no_such_command: CommandNotFound") {
				t.Errorf("unknown command error = %v, want a *qmpError of class CommandNotFound naming the command", err)
			}
			if _, err := c.execute(ctx, "quit_later", nil); err != nil {
				t.Fatal(err)
			}
			ev, err = c.waitEvent(ctx, "SHUTDOWN")
			if err != nil || !strings.Contains(string(ev.Data), "guest-shutdown") {
				t.Errorf("SHUTDOWN event = %+v, %v; want it with its data", ev, err)
			}
			if ev, err := c.waitEvent(ctx, "RESUME"); err != nil || ev.Timestamp.Seconds != 3 {
				t.Errorf("RESUME event kept while waiting for SHUTDOWN = %+v, %v", ev, err)
			}
			want := []string{"qmp_capabilities", "system_powerdown", "no_such_command", "quit_later"}
			if got := srv.seen(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("server saw %v, want %v (qmp_capabilities first)", got, want)
			}
		})
	}
}

func TestQMPErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Run("no socket", func(t *testing.T) {
		_, err := dialQMP(ctx, filepath.Join(t.TempDir(), "qmp.sock"))
		wantErr(t, err, "connect to QMP socket")
	})
	t.Run("not QMP", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "qmp.sock")
		startFakeQMP(t, path, `{"hello": "world"}`)
		_, err := dialQMP(ctx, path)
		wantErr(t, err, "did not greet with a QMP banner")
	})
	t.Run("event wait times out", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "qmp.sock")
		startFakeQMP(t, path, qemuGreeting)
		c, err := dialQMP(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err = c.waitEvent(short, "SHUTDOWN")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waitEvent = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("powerdown through the driver helper", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "qmp.sock")
		srv := startFakeQMP(t, path, qemuGreeting)
		if err := powerdown(ctx, path); err != nil {
			t.Fatalf("powerdown: %v", err)
		}
		if got := srv.seen(); len(got) != 2 || got[1] != "system_powerdown" {
			t.Errorf("server saw %v, want qmp_capabilities then system_powerdown", got)
		}
	})
}
