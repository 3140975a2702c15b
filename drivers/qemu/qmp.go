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
	"time"
)

// maxUnixPath is the size of sun_path, including the terminating NUL.
const maxUnixPath = 108

// qmpTimeout bounds a QMP exchange when the caller's context has no deadline.
const qmpTimeout = 10 * time.Second

// qmpEvent is an asynchronous QMP event such as POWERDOWN or SHUTDOWN.
type qmpEvent struct {
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data,omitempty"`
	Timestamp struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp"`
}

// qmpError is an error QEMU answered a command with.
type qmpError struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *qmpError) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}

// qmpMessage is any message QEMU sends: greeting, reply or event.
type qmpMessage struct {
	QMP *struct {
		Version struct {
			QEMU struct {
				Major int `json:"major"`
				Minor int `json:"minor"`
				Micro int `json:"micro"`
			} `json:"qemu"`
			Package string `json:"package"`
		} `json:"version"`
		Capabilities []string `json:"capabilities"`
	} `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Error  *qmpError       `json:"error"`
	Event  string          `json:"event"`
	ID     json.RawMessage `json:"id"`
}

// qmpClient is a QMP session over a unix socket: greeting, capabilities
// negotiation, then commands one at a time. Events that arrive while a
// command waits for its reply are kept for waitEvent. It is not safe for
// concurrent use; one goroutine owns a session.
type qmpClient struct {
	conn    net.Conn
	r       *bufio.Reader
	version string
	events  []qmpEvent
}

// dialQMP connects to the QMP socket at path and negotiates capabilities.
func dialQMP(ctx context.Context, path string) (*qmpClient, error) {
	conn, err := dialUnix(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("connect to QMP socket %s: %w", path, err)
	}
	c := &qmpClient{conn: conn, r: bufio.NewReader(conn)}
	stop := c.bind(ctx)
	defer stop()
	greeting, err := c.read(ctx)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("read QMP greeting from %s: %w", path, err)
	}
	if greeting.QMP == nil {
		_ = conn.Close()
		return nil, fmt.Errorf("QMP socket %s did not greet with a QMP banner; is it a QEMU QMP socket?", path)
	}
	v := greeting.QMP.Version.QEMU
	c.version = fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
	if _, err := c.execute(ctx, "qmp_capabilities", nil); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// dialUnix connects to a unix socket, also when its path is longer than
// sun_path allows: the directory is opened and the socket reached through
// /proc/self/fd/<dir fd>/<name>.
func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	if len(path) < maxUnixPath {
		return d.DialContext(ctx, "unix", path)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return d.DialContext(ctx, "unix", fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path)))
}

// bind applies ctx's deadline (or qmpTimeout) to the connection and
// interrupts it when ctx ends; the returned func undoes the latter.
func (c *qmpClient) bind(ctx context.Context) func() bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(qmpTimeout)
	}
	_ = c.conn.SetDeadline(deadline)
	return context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Now()) })
}

// read reads one message; an event is also kept in the session's events.
func (c *qmpClient) read(ctx context.Context) (*qmpMessage, error) {
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	var m qmpMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, fmt.Errorf("decode QMP message %q: %w", line, err)
	}
	if m.Event != "" {
		var ev qmpEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("decode QMP event %q: %w", line, err)
		}
		c.events = append(c.events, ev)
	}
	return &m, nil
}

// execute runs one command and returns its "return" value.
func (c *qmpClient) execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	stop := c.bind(ctx)
	defer stop()
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode QMP command %s: %w", command, err)
	}
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("send QMP command %s: %w", command, err)
	}
	for {
		m, err := c.read(ctx)
		if err != nil {
			return nil, fmt.Errorf("read reply to QMP command %s: %w", command, err)
		}
		switch {
		case m.Event != "":
			// Kept by read for waitEvent.
		case m.Error != nil:
			m.Error.Command = command
			return nil, m.Error
		case m.Return != nil:
			return m.Return, nil
		}
	}
}

// waitEvent returns the first event named name, received earlier or
// arriving before ctx ends.
func (c *qmpClient) waitEvent(ctx context.Context, name string) (qmpEvent, error) {
	for i, ev := range c.events {
		if ev.Event == name {
			c.events = append(c.events[:i:i], c.events[i+1:]...)
			return ev, nil
		}
	}
	stop := c.bind(ctx)
	defer stop()
	for {
		m, err := c.read(ctx)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = context.DeadlineExceeded
			}
			return qmpEvent{}, fmt.Errorf("wait for QMP event %s: %w", name, err)
		}
		if m.Event == name {
			ev := c.events[len(c.events)-1]
			c.events = c.events[:len(c.events)-1]
			return ev, nil
		}
	}
}

// Close ends the session.
func (c *qmpClient) Close() error { return c.conn.Close() }
