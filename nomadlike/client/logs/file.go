package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
)

// FileOptions select one file of an allocation directory to stream, for
// /v1/client/fs/stream.
type FileOptions struct {
	// AllocDir is the allocation's directory; Path is opened through its
	// safe accessor (never outside it, only a regular file).
	AllocDir *allocdir.AllocDir
	Path     string
	// Origin "start" or "end" (default "start"), Offset bytes from it.
	Origin string
	Offset int64
	// Follow, Done, PollInterval and HeartbeatInterval are as in Options.
	Follow                          bool
	Done                            func() bool
	PollInterval, HeartbeatInterval time.Duration
}

// FileEventTruncated is the FileEvent of the frame sent when the streamed
// file shrank (the stream restarts at its beginning), as Nomad names it.
const FileEventTruncated = "file truncated"

// StreamFile emits the content of one file as frames of at most FrameSize,
// with Follow new data as it is written. Open errors from the accessor
// (fs.ErrNotExist, allocdir.ErrOutside, allocdir.ErrNotRegular) are
// returned wrapped, for the caller to map; a bad Origin or Offset is a 400
// CodedError.
func StreamFile(ctx context.Context, o FileOptions, emit func(*api.StreamFrame) error) error {
	var err error
	if o.Origin, err = checkOrigin("stream", o.Origin, o.Offset); err != nil {
		return err
	}
	f, err := o.AllocDir.Open(o.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", o.Path, err)
	}
	off := min(o.Offset, st.Size())
	if o.Origin == "end" {
		off = max(st.Size()-o.Offset, 0)
	}
	s := &streamer{o: Options{Follow: o.Follow, Done: o.Done, PollInterval: o.PollInterval, HeartbeatInterval: o.HeartbeatInterval}, emit: emit}
	if s.o.PollInterval <= 0 {
		s.o.PollInterval = DefaultPollInterval
	}
	if s.o.HeartbeatInterval <= 0 {
		s.o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	buf := make([]byte, FrameSize)
	for {
		// Done is read before draining, so what was written before the
		// allocation ended is still sent.
		done := s.done()
		if st, err := f.Stat(); err == nil && st.Size() < off {
			off = 0
			if err := emit(&api.StreamFrame{File: o.Path, FileEvent: FileEventTruncated}); err != nil {
				return err
			}
		}
		for {
			n, rerr := f.ReadAt(buf, off)
			if n > 0 {
				off += int64(n)
				if err := emit(&api.StreamFrame{File: o.Path, Offset: off, Data: append([]byte(nil), buf[:n]...)}); err != nil {
					return err
				}
				s.lastSent = time.Now()
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				return fmt.Errorf("read %s: %w", o.Path, rerr)
			}
		}
		if !o.Follow || done {
			return nil
		}
		if err := s.wait(ctx); err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil
			}
			return err
		}
	}
}
