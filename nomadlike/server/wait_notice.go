package server

import (
	"context"
	"net/http"
)

type waitNoticeKey struct{}

// RequestState is the server's part of an HTTP request's state. The HTTP
// layer makes one for each request and keeps it in the request's context
// (WithRequestState) from the start; the wait notice (SetWaitNotice) and
// the write's request ID (Forward) are then recorded in it, where each
// otherwise took a context value of its own and a copy of the request
// (http.Request.WithContext copies the whole request). Its fields are
// used by the request's goroutine only.
type RequestState struct {
	waitNotice func()
	// once is the write's request ID, when hasOnce.
	once    writeOnceReq
	hasOnce bool
}

type requestStateKey struct{}

// WithRequestState returns ctx carrying st (see RequestState).
func WithRequestState(ctx context.Context, st *RequestState) context.Context {
	return context.WithValue(ctx, requestStateKey{}, st)
}

func requestStateOf(ctx context.Context) *RequestState {
	st, _ := ctx.Value(requestStateKey{}).(*RequestState)
	return st
}

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

// SetWaitNotice records f as the wait notice (see WithWaitNotice) of the
// request r, in its RequestState, and returns r; a request without one is
// returned as a copy carrying f.
func SetWaitNotice(r *http.Request, f func()) *http.Request {
	if st := requestStateOf(r.Context()); st != nil {
		st.waitNotice = f
		return r
	}
	return r.WithContext(WithWaitNotice(r.Context(), f))
}

// NoticeWait tells the request of ctx that it is about to wait for Raft or
// for a change (see WithWaitNotice); without a notice in ctx it does nothing.
func NoticeWait(ctx context.Context) {
	if f, ok := ctx.Value(waitNoticeKey{}).(func()); ok {
		f()
		return
	}
	if st := requestStateOf(ctx); st != nil && st.waitNotice != nil {
		st.waitNotice()
	}
}
