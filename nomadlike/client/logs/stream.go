// Package logs streams a task's log files, <task>.<type>.N in an
// allocation's alloc/logs directory, as Nomad's /v1/client/fs/logs does:
// frames of at most 64 KiB, from an origin ("start" or "end") and an offset,
// across rotated files in index order, and with Follow, new data as it is
// written (polling file sizes) with a heartbeat frame when idle.
package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// FrameSize is the most data one frame carries.
const FrameSize = 64 << 10

// Defaults for StreamOptions.
const (
	DefaultPollInterval      = 250 * time.Millisecond
	DefaultHeartbeatInterval = 10 * time.Second
)

// Options select what to stream.
type Options struct {
	// AllocDir is the allocation's directory; the files are read from its
	// alloc/logs through its safe accessors: a symlink or FIFO a task
	// planted there is never followed out of the allocation directory nor
	// blocks the stream (it reads as an error naming the file).
	AllocDir *allocdir.AllocDir
	// Task and Type ("stdout" or "stderr") name the files <Task>.<Type>.N.
	Task, Type string
	// Origin is "start" (Offset bytes from the beginning of the oldest file)
	// or "end" (Offset bytes back from the end of the newest).
	Origin string
	Offset int64
	// Follow keeps streaming new data until ctx ends or Done reports true
	// and everything has been read.
	Follow bool
	// Done reports whether nothing more will be written (the allocation is
	// terminal). Nil means never.
	Done func() bool
	// PollInterval and HeartbeatInterval default to 250ms and 10s.
	PollInterval, HeartbeatInterval time.Duration
}

// Stream emits the selected log data as frames. An emit error ends the stream
// and is returned. A bad Origin or Type is a 400 CodedError.
func Stream(ctx context.Context, o Options, emit func(*api.StreamFrame) error) error {
	if o.Type != "stdout" && o.Type != "stderr" {
		return structs.NewBadRequest("log type %q is not valid: use \"stdout\" or \"stderr\"", o.Type)
	}
	var err error
	if o.Origin, err = checkOrigin("log", o.Origin, o.Offset); err != nil {
		return err
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	s := &streamer{o: o, base: o.Task + "." + o.Type, emit: emit}
	err = s.run(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil // the caller ended the stream
	}
	return err
}

// checkOrigin validates an origin ("" is "start") and offset of what.
func checkOrigin(what, origin string, offset int64) (string, error) {
	if origin == "" {
		origin = "start"
	}
	if origin != "start" && origin != "end" {
		return "", structs.NewBadRequest("%s origin %q is not valid: use \"start\" or \"end\"", what, origin)
	}
	if offset < 0 {
		return "", structs.NewBadRequest("%s offset %d is negative", what, offset)
	}
	return origin, nil
}

type streamer struct {
	o        Options
	base     string
	emit     func(*api.StreamFrame) error
	lastSent time.Time
}

// indexes returns the indexes of the existing log files, ascending.
func (s *streamer) indexes() ([]int, error) {
	out, err := s.o.AllocDir.LogIndexes(s.base)
	if err != nil {
		if errors.Is(err, allocdir.ErrOutside) {
			return nil, structs.NewBadRequest("log dir alloc/logs cannot be served: %v", err)
		}
		return nil, fmt.Errorf("list log dir: %w", err)
	}
	return out, nil
}

// name is the file name of log file idx.
func (s *streamer) name(idx int) string { return s.base + "." + strconv.Itoa(idx) }

// size is the size of log file idx; 0 when it is missing or not a regular
// file inside the allocation directory.
func (s *streamer) size(idx int) int64 {
	f, err := s.o.AllocDir.OpenLog(s.name(idx))
	if err != nil {
		return 0
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// start finds the file and offset the stream begins at.
func (s *streamer) start(idxs []int) (int, int64) {
	if s.o.Origin == "start" {
		rem := s.o.Offset
		for i, idx := range idxs {
			sz := s.size(idx)
			if rem <= sz || i == len(idxs)-1 {
				return idx, min(rem, sz)
			}
			rem -= sz
		}
		return 0, 0
	}
	rem := s.o.Offset
	for i := len(idxs) - 1; i >= 0; i-- {
		sz := s.size(idxs[i])
		if rem <= sz {
			return idxs[i], sz - rem
		}
		rem -= sz
	}
	return idxs[0], 0
}

func (s *streamer) run(ctx context.Context) error {
	idxs, err := s.indexes()
	if err != nil {
		return err
	}
	for len(idxs) == 0 {
		if !s.o.Follow || s.done() {
			return nil
		}
		if err := s.wait(ctx); err != nil {
			return err
		}
		if idxs, err = s.indexes(); err != nil {
			return err
		}
	}
	idx, off := s.start(idxs)
	buf := make([]byte, FrameSize)
	for {
		var err error
		off, err = s.drain(idx, off, buf)
		if err != nil {
			return err
		}
		next, ok, err := s.next(idx)
		if err != nil {
			return err
		}
		if ok {
			// Read what was written to this file before the rotation.
			if off, err = s.drain(idx, off, buf); err != nil {
				return err
			}
			idx, off = next, 0
			continue
		}
		if !s.o.Follow {
			return nil
		}
		if s.done() {
			// Nothing more will be written: read the tail and end.
			_, err := s.drain(idx, off, buf)
			return err
		}
		if err := s.wait(ctx); err != nil {
			return err
		}
	}
}

func (s *streamer) done() bool { return s.o.Done != nil && s.o.Done() }

// next returns the smallest file index above idx.
func (s *streamer) next(idx int) (int, bool, error) {
	idxs, err := s.indexes()
	if err != nil {
		return 0, false, err
	}
	for _, i := range idxs {
		if i > idx {
			return i, true, nil
		}
	}
	return 0, false, nil
}

// drain emits everything in file idx from off to its current end and
// returns the new offset. A missing file (rotated away) reads as empty.
func (s *streamer) drain(idx int, off int64, buf []byte) (int64, error) {
	f, err := s.o.AllocDir.OpenLog(s.name(idx))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return off, nil
		}
		return off, structs.NewBadRequest("log file alloc/logs/%s cannot be served: %v", s.name(idx), err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && off > st.Size() {
		off = st.Size() // truncated underneath us
	}
	name := "alloc/logs/" + s.name(idx)
	for {
		n, rerr := f.ReadAt(buf, off)
		if n > 0 {
			off += int64(n)
			frame := &api.StreamFrame{File: name, Offset: off, Data: append([]byte(nil), buf[:n]...)}
			if err := s.emit(frame); err != nil {
				return off, err
			}
			s.lastSent = time.Now()
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return off, nil
			}
			return off, fmt.Errorf("read log file %s: %w", name, rerr)
		}
	}
}

// wait sleeps one poll interval, sending a heartbeat frame when nothing has
// been sent for a heartbeat interval.
func (s *streamer) wait(ctx context.Context) error {
	t := time.NewTimer(s.o.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	if s.lastSent.IsZero() {
		s.lastSent = time.Now()
	}
	if time.Since(s.lastSent) >= s.o.HeartbeatInterval {
		if err := s.emit(&api.StreamFrame{}); err != nil {
			return err
		}
		s.lastSent = time.Now()
	}
	return nil
}
