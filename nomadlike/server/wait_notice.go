package server

import "context"

type waitNoticeKey struct{}

// WithWaitNotice returns ctx carrying f, which the server calls when a
// request made with ctx starts waiting for a Raft entry to commit (its
// own, or the batch it joined), perhaps more than once. The HTTP layer's
// admission then hands the request's slot to another request: a write
// waiting for the log is not work, and holding its slot would cap the
// server's writes at its slots per commit time.
func WithWaitNotice(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, waitNoticeKey{}, f)
}

// NoticeWait tells the request of ctx that it is about to wait for Raft
// (see WithWaitNotice); without a notice in ctx it does nothing.
func NoticeWait(ctx context.Context) {
	if f, ok := ctx.Value(waitNoticeKey{}).(func()); ok {
		f()
	}
}
