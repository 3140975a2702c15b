package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// AllocStats returns an allocation's resource usage, from its node's client.
func (c *Client) AllocStats(ctx context.Context, allocID string, q *QueryOptions) (*structs.AllocResourceUsage, error) {
	var out structs.AllocResourceUsage
	if _, err := c.query(ctx, "/v1/client/allocation/"+pathEscape(allocID)+"/stats", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// HostStats returns a client node's host stats (nodeID empty: the agent's own).
func (c *Client) HostStats(ctx context.Context, nodeID string, q *QueryOptions) (*structs.HostStats, error) {
	qq := QueryOptions{}
	if q != nil {
		qq = *q
	}
	if nodeID != "" {
		qq.Params = map[string]string{"node_id": nodeID}
		for k, v := range q.paramsOrNil() {
			qq.Params[k] = v
		}
	}
	var out structs.HostStats
	if _, err := c.query(ctx, "/v1/client/stats", &qq, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (q *QueryOptions) paramsOrNil() map[string]string {
	if q == nil {
		return nil
	}
	return q.Params
}

// RestartAlloc restarts a task of an allocation in place (task empty: every
// running task).
func (c *Client) RestartAlloc(ctx context.Context, allocID, task string, q *QueryOptions) error {
	return c.write(ctx, http.MethodPut, "/v1/client/allocation/"+pathEscape(allocID)+"/restart", q,
		&structs.AllocRestartRequest{TaskName: task}, nil)
}

// SignalAlloc sends signal to a task of an allocation (task empty: every
// running task).
func (c *Client) SignalAlloc(ctx context.Context, allocID, task, signal string, q *QueryOptions) error {
	return c.write(ctx, http.MethodPut, "/v1/client/allocation/"+pathEscape(allocID)+"/signal", q,
		&structs.AllocSignalRequest{Task: task, Signal: signal}, nil)
}

// AllocStopResponse is the reply of PUT /v1/allocation/{id}/stop.
type AllocStopResponse struct {
	EvalID string
	Index  uint64
}

// StopAlloc stops an allocation; the scheduler replaces it (the returned
// evaluation places the replacement).
func (c *Client) StopAlloc(ctx context.Context, allocID string, q *QueryOptions) (*AllocStopResponse, error) {
	var out AllocStopResponse
	if err := c.write(ctx, http.MethodPut, "/v1/allocation/"+pathEscape(allocID)+"/stop", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TerminalSize is a terminal's size, sent to the exec'd command's TTY.
type TerminalSize struct {
	Height int `json:"height,omitempty"`
	Width  int `json:"width,omitempty"`
}

// ExecOptions is one `alloc exec`.
type ExecOptions struct {
	Task    string
	Command []string
	TTY     bool
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Resize, optional, carries terminal size changes (the first sets the
	// initial size).
	Resize <-chan TerminalSize
}

type execFrameIO struct {
	Data  []byte `json:"data,omitempty"`
	Close bool   `json:"close,omitempty"`
}

type execFrameIn struct {
	Stdin   *execFrameIO  `json:"stdin,omitempty"`
	TTYSize *TerminalSize `json:"tty_size,omitempty"`
}

type execFrameOut struct {
	Stdout *execFrameIO `json:"stdout,omitempty"`
	Stderr *execFrameIO `json:"stderr,omitempty"`
	Exited bool         `json:"exited,omitempty"`
	Result *struct {
		ExitCode int `json:"exit_code"`
	} `json:"result,omitempty"`
}

// execHeartbeat is how often Exec sends an empty frame, as Nomad's client does.
const execHeartbeat = 10 * time.Second

// Exec runs a command inside a running task over the exec websocket and
// returns its exit code. Stdin is read in a goroutine that ends when its
// Read returns after Exec returned; callers with an endless stdin (a
// terminal) end the process instead.
func (c *Client) Exec(ctx context.Context, allocID string, o ExecOptions, q *QueryOptions) (int, error) {
	cmd, err := json.Marshal(o.Command)
	if err != nil {
		return -1, fmt.Errorf("encode command: %w", err)
	}
	qq := QueryOptions{}
	if q != nil {
		qq = *q
	}
	qq.Params = map[string]string{"task": o.Task, "command": string(cmd), "tty": strconv.FormatBool(o.TTY)}
	for k, v := range q.paramsOrNil() {
		qq.Params[k] = v
	}
	return c.execAt(ctx, "/v1/client/allocation/"+pathEscape(allocID)+"/exec", o, &qq)
}

// ActionExec runs the job's named action (an action block of the task) in
// the allocation over GET /v1/job/{id}/action (Nomad's), and returns its
// exit code. o.Command is not used: the action names the command.
func (c *Client) ActionExec(ctx context.Context, jobID string, alloc *structs.Allocation, action string, o ExecOptions, q *QueryOptions) (int, error) {
	qq := QueryOptions{}
	if q != nil {
		qq = *q
	}
	qq.Params = map[string]string{"action": action, "allocID": alloc.ID, "group": alloc.TaskGroup, "task": o.Task,
		"tty": strconv.FormatBool(o.TTY)}
	for k, v := range q.paramsOrNil() {
		qq.Params[k] = v
	}
	return c.execAt(ctx, "/v1/job/"+pathEscape(jobID)+"/action", o, &qq)
}

// execAt runs an exec session over the websocket at path.
func (c *Client) execAt(ctx context.Context, path string, o ExecOptions, qq *QueryOptions) (int, error) {
	u := c.url(path, qq)
	u = "ws" + strings.TrimPrefix(u, "http")
	hdr := http.Header{}
	if c.token != "" {
		hdr.Set("X-Nomad-Token", c.token)
	}
	dialer := *websocket.DefaultDialer
	if tr, ok := c.http.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		dialer.TLSClientConfig = tr.TLSClientConfig.Clone() // wss:// with the client's certificate
	}
	conn, resp, err := dialer.DialContext(ctx, u, hdr)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			defer resp.Body.Close()
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			return -1, &Error{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(msg)), Method: http.MethodGet, Path: path}
		}
		return -1, fmt.Errorf("exec: connect to %s: %w", path, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	var wmu sync.Mutex
	send := func(f execFrameIn) error {
		wmu.Lock()
		defer wmu.Unlock()
		return conn.WriteJSON(f)
	}
	go func() {
		t := time.NewTicker(execHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case sz, ok := <-o.Resize:
				if !ok {
					o.Resize = nil
					continue
				}
				_ = send(execFrameIn{TTYSize: &sz})
			case <-t.C:
				_ = send(execFrameIn{})
			}
		}
	}()
	if o.Stdin != nil {
		go func() {
			buf := make([]byte, 4096)
			for {
				n, err := o.Stdin.Read(buf)
				if ctx.Err() != nil {
					return
				}
				if n > 0 {
					if send(execFrameIn{Stdin: &execFrameIO{Data: append([]byte(nil), buf[:n]...)}}) != nil {
						return
					}
				}
				if err != nil {
					_ = send(execFrameIn{Stdin: &execFrameIO{Close: true}})
					return
				}
			}
		}()
	} else {
		_ = send(execFrameIn{Stdin: &execFrameIO{Close: true}})
	}
	for {
		var f execFrameOut
		if err := conn.ReadJSON(&f); err != nil {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Text != "" {
				return -1, errors.New(ce.Text)
			}
			return -1, fmt.Errorf("exec: the connection ended before the command's exit code arrived: %w", err)
		}
		switch {
		case f.Stdout != nil && o.Stdout != nil:
			_, _ = o.Stdout.Write(f.Stdout.Data)
		case f.Stderr != nil && o.Stderr != nil:
			_, _ = o.Stderr.Write(f.Stderr.Data)
		case f.Exited && f.Result != nil:
			return f.Result.ExitCode, nil
		}
	}
}
