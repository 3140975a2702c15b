package server

import "context"

type waitNoticeKey struct{}

// WithWaitNotice returns ctx carrying f, which is called when a request
// made with ctx starts waiting, perhaps more than once: the server calls it
// when the request waits for a Raft entry to commit (its own, or the batch
// it joined), the HTTP layer when a blocking query waits for a change. The
// HTTP layer's admission then hands the request's slot to another request:
// a write waiting for the log is not work, and holding its slot would cap
// the server's writes at its slots per commit time; a long poll waiting
// for a change is not work either.
func WithWaitNotice(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, waitNoticeKey{}, f)
}

// NoticeWait tells the request of ctx that it is about to wait for Raft or
// for a change (see WithWaitNotice); without a notice in ctx it does nothing.
func NoticeWait(ctx context.Context) {
	if f, ok := ctx.Value(waitNoticeKey{}).(func()); ok {
		f()
	}
}
