package agent

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

	"github.com/gorilla/mux"
	"github.com/gorilla/websocket"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Client allocation endpoints (/v1/client/allocation/{id}/{stats,restart,
// signal,exec} and /v1/client/stats): served by the agent whose client runs
// the allocation, and proxied there (to the node's HTTPAddr) by any other
// agent, as the log endpoint is.

// allocOpsClient is what these endpoints need of the local client, found by
// type assertion on ClientAPI; *client.Client implements it.
type allocOpsClient interface {
	AllocStats(ctx context.Context, allocID string) (*structs.AllocResourceUsage, error)
	HostStats(ctx context.Context) (*structs.HostStats, error)
	RestartAlloc(ctx context.Context, allocID, task string, all bool) error
	SignalAlloc(ctx context.Context, allocID, task, signal string) error
	// CheckExec reports, before the websocket upgrade, why ExecAlloc
	// could not run in the task (so the error is a plain HTTP reply).
	CheckExec(allocID, task string) error
	ExecAlloc(ctx context.Context, allocID, task string, req *drivers.ExecRequest) (int, error)
}

// localOps returns the local client's allocation operations, or a 503
// explaining why this agent cannot serve them.
func (s *HTTPServer) localOps() (allocOpsClient, error) {
	if s.client == nil {
		return nil, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "this agent runs no client, so it runs no allocations; send the request to the agent of the allocation's node"}
	}
	ops, ok := s.client.(allocOpsClient)
	if !ok {
		return nil, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this agent's client does not support allocation operations"}
	}
	return ops, nil
}

// routeToNode decides where a request about a node's client goes: it returns
// true when the local client should serve it; otherwise it has proxied the
// request to the node's agent or written the error.
func (s *HTTPServer) routeToNode(w http.ResponseWriter, r *http.Request, nodeID, what string) bool {
	if s.srv == nil || (s.client != nil && (nodeID == "" || nodeID == s.client.NodeID())) {
		return true
	}
	if nodeID == "" {
		s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "this agent runs no client; name a node with ?node_id= to ask its agent"})
		return false
	}
	node, err := readState(s, func(snap *state.Snapshot) (*structs.Node, error) { return snap.NodeByID(nil, nodeID) })
	if err != nil {
		s.writeError(w, r, fmt.Errorf("look up node %q: %w", nodeID, err))
		return false
	}
	if node == nil {
		s.writeError(w, r, structs.NewNotFound("node %q not found (IDs are full UUIDs; list nodes with GET /v1/nodes)", nodeID))
		return false
	}
	if node.HTTPAddr == "" {
		s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable,
			Msg: fmt.Sprintf("%s is on node %q, which has no known HTTP address", what, node.Name)})
		return false
	}
	if r.Header.Get(forwardedHeader) != "" || node.HTTPAddr == s.self() {
		s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable,
			Msg: fmt.Sprintf("node %q (HTTP address %s) does not serve %s; is its client agent running?", node.Name, node.HTTPAddr, what)})
		return false
	}
	s.proxyTo(w, r, node.HTTPAddr, fmt.Sprintf("node %q", node.Name))
	return false
}

// routeAlloc is routeToNode for the node running the allocation {id}.
func (s *HTTPServer) routeAlloc(w http.ResponseWriter, r *http.Request) (allocID string, local bool) {
	allocID = mux.Vars(r)["id"]
	if s.srv == nil {
		return allocID, true
	}
	alloc, err := readState(s, func(snap *state.Snapshot) (*structs.Allocation, error) { return snap.AllocByID(nil, allocID) })
	if err != nil {
		s.writeError(w, r, fmt.Errorf("look up allocation %q: %w", allocID, err))
		return allocID, false
	}
	if alloc == nil {
		s.writeError(w, r, structs.NewNotFound("allocation %q not found (IDs are full UUIDs; find one with GET /v1/allocations?prefix=)", allocID))
		return allocID, false
	}
	return allocID, s.routeToNode(w, r, alloc.NodeID, fmt.Sprintf("allocation %q", allocID))
}

// localAlloc wraps a handler of a local allocation: it routes the request
// and, when it is local, calls h with the local client.
func (s *HTTPServer) localAlloc(h func(w http.ResponseWriter, r *http.Request, ops allocOpsClient, allocID string) (any, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		allocID, local := s.routeAlloc(w, r)
		if !local {
			return nil, errHandled
		}
		ops, err := s.localOps()
		if err != nil {
			return nil, err
		}
		return h(w, r, ops, allocID)
	}
}

// clientAllocStats is GET /v1/client/allocation/{id}/stats.
func (s *HTTPServer) clientAllocStats(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.localAlloc(func(_ http.ResponseWriter, r *http.Request, ops allocOpsClient, id string) (any, error) {
		return ops.AllocStats(r.Context(), id)
	})(w, r)
}

// clientHostStats is GET /v1/client/stats[?node_id=].
func (s *HTTPServer) clientHostStats(w http.ResponseWriter, r *http.Request) (any, error) {
	nodeID := r.URL.Query().Get("node_id")
	if !s.routeToNode(w, r, nodeID, "host stats") {
		return nil, errHandled
	}
	ops, err := s.localOps()
	if err != nil {
		return nil, err
	}
	if nodeID != "" && nodeID != s.client.NodeID() {
		return nil, structs.NewNotFound("node %q is not this agent's node (%s); send the request to a server, which forwards it", nodeID, s.client.NodeID())
	}
	return ops.HostStats(r.Context())
}

// clientAllocRestart is PUT /v1/client/allocation/{id}/restart with
// {"TaskName": "...", "AllTasks": false}; an empty body restarts every
// running task.
func (s *HTTPServer) clientAllocRestart(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.localAlloc(func(_ http.ResponseWriter, r *http.Request, ops allocOpsClient, id string) (any, error) {
		var req structs.AllocRestartRequest
		if err := decodeOptionalBody(r, &req); err != nil {
			return nil, err
		}
		if err := ops.RestartAlloc(r.Context(), id, req.TaskName, req.AllTasks); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	})(w, r)
}

// clientAllocSignal is PUT /v1/client/allocation/{id}/signal with
// {"Task": "...", "Signal": "SIGHUP"}.
func (s *HTTPServer) clientAllocSignal(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.localAlloc(func(_ http.ResponseWriter, r *http.Request, ops allocOpsClient, id string) (any, error) {
		var req structs.AllocSignalRequest
		if err := decodeOptionalBody(r, &req); err != nil {
			return nil, err
		}
		if req.Signal == "" {
			return nil, structs.NewBadRequest("Signal is required: send {\"Signal\": \"SIGHUP\", \"Task\": \"<task>\"}")
		}
		if err := ops.SignalAlloc(r.Context(), id, req.Task, req.Signal); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	})(w, r)
}

// decodeOptionalBody decodes a JSON body into out; an empty body leaves out
// at its zero value.
func decodeOptionalBody(r *http.Request, out any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	err := decodeBody(r, out)
	var coded *structs.CodedError
	if errors.As(err, &coded) && strings.HasPrefix(coded.Msg, "request body is empty") {
		return nil
	}
	return err
}

// Exec (websocket) protocol, Nomad's: the client sends
// {"stdin":{"data":"<base64>"}}, {"stdin":{"close":true}},
// {"tty_size":{"height":h,"width":w}} and {} heartbeats; the server sends
// {"stdout":{"data":...}}, {"stderr":{"data":...}} and finally
// {"exited":true,"result":{"exit_code":n}}, then closes normally. An error
// after the upgrade closes the socket with its message (code 1008 for the
// user's mistakes, 1011 otherwise).

type execIO struct {
	Data  []byte `json:"data,omitempty"`
	Close bool   `json:"close,omitempty"`
}

type execInput struct {
	Stdin   *execIO               `json:"stdin,omitempty"`
	TTYSize *drivers.TerminalSize `json:"tty_size,omitempty"`
}

type execResult struct {
	ExitCode int `json:"exit_code"`
}

type execOutput struct {
	Stdout *execIO     `json:"stdout,omitempty"`
	Stderr *execIO     `json:"stderr,omitempty"`
	Exited bool        `json:"exited,omitempty"`
	Result *execResult `json:"result,omitempty"`
}

// execRequest is the parsed query of the exec endpoint.
type execRequest struct {
	Task    string
	Command []string
	TTY     bool
}

func parseExecRequest(r *http.Request) (*execRequest, error) {
	q := r.URL.Query()
	er := &execRequest{Task: q.Get("task")}
	if er.Task == "" {
		return nil, structs.NewBadRequest("task= is required: name the task to run the command in")
	}
	raw := q.Get("command")
	if raw == "" {
		return nil, structs.NewBadRequest(`command= is required: a JSON array such as ["/bin/sh","-c","echo hi"]`)
	}
	if err := json.Unmarshal([]byte(raw), &er.Command); err != nil {
		return nil, structs.NewBadRequest(`command=%q is not a JSON array of strings (%v); send e.g. ["/bin/sh","-c","echo hi"]`, raw, err)
	}
	if len(er.Command) == 0 || er.Command[0] == "" {
		return nil, structs.NewBadRequest("command= is empty: name the command to run")
	}
	if v := q.Get("tty"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, structs.NewBadRequest("tty=%q must be true or false", v)
		}
		er.TTY = b
	}
	return er, nil
}

var execUpgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	// A page on another origin must not run commands in allocations
	// through a visitor's browser (the middleware refuses it first).
	CheckOrigin: func(r *http.Request) bool { return sameOrigin(r) == nil },
}

// execWriteTimeout bounds one websocket write, so a stalled reader cannot
// block the command's output forever.
const execWriteTimeout = 30 * time.Second

// clientAllocExec is the websocket GET /v1/client/allocation/{id}/exec.
func (s *HTTPServer) clientAllocExec(w http.ResponseWriter, r *http.Request) {
	er, err := parseExecRequest(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	allocID, local := s.routeAlloc(w, r)
	if !local {
		return
	}
	ops, err := s.localOps()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := ops.CheckExec(allocID, er.Task); err != nil {
		s.writeError(w, r, fmt.Errorf("exec in allocation %q: %w", allocID, err))
		return
	}
	conn, err := execUpgrader.Upgrade(hijackable(w), r, nil)
	if err != nil {
		// Upgrade has already answered with a 400 saying why.
		s.logger.Debug("exec websocket upgrade failed", "alloc_id", allocID, "error", err)
		return
	}
	defer conn.Close()
	sess := newExecSession(conn)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sess.readLoop(cancel)
	}()
	s.logger.Info("exec", "alloc_id", allocID, "task", er.Task, "command", er.Command, "tty", er.TTY)
	code, err := ops.ExecAlloc(ctx, allocID, er.Task, &drivers.ExecRequest{
		Cmd: er.Command, TTY: er.TTY, Stdin: sess.stdinR,
		Stdout: sess.writer(func(b []byte) execOutput { return execOutput{Stdout: &execIO{Data: b}} }),
		Stderr: sess.writer(func(b []byte) execOutput { return execOutput{Stderr: &execIO{Data: b}} }),
		Resize: sess.resize,
	})
	switch {
	case err != nil && ctx.Err() != nil && r.Context().Err() == nil:
		// The client went away; nothing to tell it.
	case err != nil:
		// A close frame holds 123 bytes of reason: send the whole message
		// on stderr first.
		_ = sess.send(execOutput{Stderr: &execIO{Data: []byte("nomadlike: " + err.Error() + "\n")}})
		wsCode := websocket.CloseInternalServerErr
		if st := errorStatus(err); st < 500 {
			wsCode = websocket.ClosePolicyViolation
		} else {
			s.logger.Error("exec failed", "alloc_id", allocID, "task", er.Task, "error", err)
		}
		sess.close(wsCode, err.Error())
	default:
		if werr := sess.send(execOutput{Exited: true, Result: &execResult{ExitCode: code}}); werr == nil {
			sess.close(websocket.CloseNormalClosure, "")
		}
	}
	sess.finish()
	_ = conn.Close()
	<-readDone
}

// execSession is one exec websocket: a reader goroutine feeding stdin and
// resizes, and writers framing output.
type execSession struct {
	conn   *websocket.Conn
	stdinR *io.PipeReader
	stdinW *io.PipeWriter
	resize chan drivers.TerminalSize

	mu     sync.Mutex // serialises writes; guards closed
	closed bool
}

func newExecSession(conn *websocket.Conn) *execSession {
	pr, pw := io.Pipe()
	return &execSession{conn: conn, stdinR: pr, stdinW: pw, resize: make(chan drivers.TerminalSize, 1)}
}

// readLoop reads client frames until the socket fails or closes; then it
// ends stdin with an error (unless the client closed it) and calls cancel.
func (e *execSession) readLoop(cancel context.CancelFunc) {
	defer cancel()
	stdinOpen := true
	for {
		var in execInput
		if err := e.conn.ReadJSON(&in); err != nil {
			if stdinOpen {
				_ = e.stdinW.CloseWithError(fmt.Errorf("exec connection closed: %w", err))
			}
			return
		}
		if in.TTYSize != nil {
			// Keep only the newest size if the command has not taken the last.
			select {
			case <-e.resize:
			default:
			}
			e.resize <- *in.TTYSize
		}
		if in.Stdin != nil && stdinOpen {
			if len(in.Stdin.Data) > 0 {
				if _, err := e.stdinW.Write(in.Stdin.Data); err != nil {
					stdinOpen = false
				}
			}
			if in.Stdin.Close {
				_ = e.stdinW.Close()
				stdinOpen = false
			}
		}
	}
}

// send writes one frame, unless the session is finished.
func (e *execSession) send(out execOutput) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("exec session finished")
	}
	_ = e.conn.SetWriteDeadline(time.Now().Add(execWriteTimeout))
	return e.conn.WriteJSON(out)
}

// writer returns an io.Writer framing each write with frame.
func (e *execSession) writer(frame func([]byte) execOutput) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		data := append([]byte(nil), b...)
		if err := e.send(frame(data)); err != nil {
			return 0, err
		}
		return len(b), nil
	})
}

// close sends a close frame with code and reason.
func (e *execSession) close(code int, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if len(reason) > 120 { // a close frame's payload is at most 125 bytes
		reason = strings.ToValidUTF8(reason[:117], "") + "..."
	}
	_ = e.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// finish stops further writes and unblocks a reader of stdin.
func (e *execSession) finish() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	_ = e.stdinR.CloseWithError(errors.New("exec session finished"))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// hijackable returns the innermost writer of a middleware chain that can be
// hijacked (for the websocket upgrade), following Unwrap.
func hijackable(w http.ResponseWriter) http.ResponseWriter {
	for {
		if _, ok := w.(http.Hijacker); ok {
			return w
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
