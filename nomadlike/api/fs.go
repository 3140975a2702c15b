package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// StreamFrame is one frame of a log or file stream, as Nomad sends it:
// newline-free JSON objects, Data base64 encoded; a frame with no data and no
// event is a heartbeat.
type StreamFrame struct {
	Offset    int64  `json:",omitempty"`
	Data      []byte `json:",omitempty"`
	File      string `json:",omitempty"`
	FileEvent string `json:",omitempty"`
}

// IsHeartbeat reports whether the frame carries nothing.
func (f *StreamFrame) IsHeartbeat() bool {
	return f.Offset == 0 && len(f.Data) == 0 && f.File == "" && f.FileEvent == ""
}

// LogsOptions select a task's log stream.
type LogsOptions struct {
	Task   string
	Type   string // stdout or stderr
	Follow bool
	Origin string // start or end
	Offset int64
	// OnRetained, when set, is called before any data when the agent
	// serves the logs of a garbage collected allocation from its retention
	// area (the RetainedLogsHeader), with the time they were retained.
	OnRetained func(retainedAt string)
}

// RetainedLogsHeader is the response header of /v1/client/fs/logs that
// marks logs served after the allocation's directory was garbage collected
// (client logs_retention); its value is when they were retained (RFC 3339).
const RetainedLogsHeader = "X-Nomadlike-Logs-Retained"

// Logs streams a task's log (GET /v1/client/fs/logs/{alloc}) into w until the
// stream ends, ctx is cancelled, or an error occurs. With Follow it returns
// only when ctx ends or the agent closes the stream.
func (c *Client) Logs(ctx context.Context, allocID string, o LogsOptions, w io.Writer) error {
	q := &QueryOptions{Params: map[string]string{
		"task":   o.Task,
		"type":   o.Type,
		"follow": strconv.FormatBool(o.Follow),
		"origin": o.Origin,
		"offset": strconv.FormatInt(o.Offset, 10),
		"plain":  "false",
	}}
	if o.Origin == "" {
		q.Params["origin"] = "start"
	}
	resp, err := c.Do(ctx, http.MethodGet, "/v1/client/fs/logs/"+pathEscape(allocID), q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if at := resp.Header.Get(RetainedLogsHeader); at != "" && o.OnRetained != nil {
		o.OnRetained(at)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var f StreamFrame
		if err := dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(f.Data) > 0 {
			if _, err := w.Write(f.Data); err != nil {
				return err
			}
		}
	}
}
