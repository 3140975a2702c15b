package client

import (
	"context"
	"slices"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/logs"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// StreamLogs streams a task's log for /v1/client/fs/logs: frames of up to
// 64 KiB from origin ("start"|"end") + offset, across rotated files
// <task>.<type>.N; with follow it keeps streaming new data, with a heartbeat
// frame every 10 s, until ctx ends or the allocation is terminal and fully
// read. An unknown alloc or task is a 404 CodedError; a bad type or origin a 400.
func (c *Client) StreamLogs(ctx context.Context, allocID, task, logType, origin string, offset int64, follow bool, emit func(*api.StreamFrame) error) error {
	e, err := c.entry(allocID)
	if err != nil {
		m, ok := c.retained.meta(allocID)
		if !ok {
			return err
		}
		// Collected: serve the retained tail, which never grows.
		if !slices.Contains(m.Tasks, task) {
			return structs.NewNotFound("task %q is not in allocation %s (tasks: %v)", task, structs.ShortID(allocID), m.Tasks)
		}
		return logs.Stream(ctx, logs.Options{
			AllocDir: c.retained.dir(allocID), Task: task, Type: logType, Origin: origin, Offset: offset,
			Follow: follow, Done: func() bool { return true },
		}, emit)
	}
	if !e.runner.HasTask(task) {
		return structs.NewNotFound("task %q is not in allocation %s (tasks: %v)", task, structs.ShortID(allocID), e.runner.TaskNames())
	}
	return logs.Stream(ctx, logs.Options{
		AllocDir: e.runner.Dir(), Task: task, Type: logType, Origin: origin, Offset: offset,
		Follow: follow, Done: e.runner.Terminal,
	}, emit)
}

// RetainedLogs reports whether allocID's logs are served from the
// retention area (its directory was garbage collected), when they were
// retained, and how many older bytes of each file did not fit.
func (c *Client) RetainedLogs(allocID string) (at time.Time, dropped map[string]int64, ok bool) {
	if _, err := c.entry(allocID); err == nil {
		return time.Time{}, nil, false
	}
	m, ok := c.retained.meta(allocID)
	return m.RetainedAt, m.Dropped, ok
}

// StreamFile streams one file of an allocation's directory for
// /v1/client/fs/stream (see logs.StreamFile): the path is resolved by the
// allocation directory's safe accessor, and with follow the stream ends
// when ctx ends or the allocation is terminal and the file fully read.
func (c *Client) StreamFile(ctx context.Context, allocID, path, origin string, offset int64, follow bool, emit func(*api.StreamFrame) error) error {
	e, err := c.entry(allocID)
	if err != nil {
		return err
	}
	return logs.StreamFile(ctx, logs.FileOptions{
		AllocDir: e.runner.Dir(), Path: path, Origin: origin, Offset: offset,
		Follow: follow, Done: e.runner.Terminal,
	}, emit)
}
