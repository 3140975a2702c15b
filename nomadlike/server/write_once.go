package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Idempotent writes (issue 13, item 6). The server that first receives a
// write (PUT, POST, DELETE) gives it a request ID (RequestIDHeader): the
// client's Idempotency-Key when it sent one, a new UUID otherwise, and a
// fingerprint of the request (method, path, query, body; the leader
// replaces it by that of the decoded body when the HTTP layer decodes one,
// NoteDecoded, so that an encoding is not a new request). Both travel with
// the request when a follower forwards it, and with every retry of the
// forward, so the leader writes them into the Raft entry (structs.WriteOnce)
// and the state store applies a second entry with a known ID as a no-op in
// the same transaction. The endpoint then answers from the first apply's
// record (structs.WriteRecord): a retried register answers with the first
// evaluation, a retried dispatch with the first child.
const (
	// RequestIDHeader carries a write's request ID from the server that
	// first received it to the leader.
	RequestIDHeader = "X-Nomadlike-Request-ID"
	// requestFingerprintHeader carries the fingerprint of the request as
	// first received.
	requestFingerprintHeader = "X-Nomadlike-Request-Fingerprint"
	// IdempotencyKeyHeader is a client's own key for a write (the IETF
	// httpapi draft's header): a client that retries with the same key and
	// the same request within structs.WriteOnceWindow gets the first
	// answer, and the write is applied once.
	IdempotencyKeyHeader = "Idempotency-Key"
	// maxIdempotencyKey bounds a client's key.
	maxIdempotencyKey = 255
	// maxFingerprintBody is the largest body a write may have to get a
	// request ID (the API's body limit; a larger body is a snapshot
	// restore, which is not deduplicated).
	maxFingerprintBody = 16 << 20
	// maxPresized bounds ReadAllSized's buffer before the body arrives.
	maxPresized = 1 << 20
)

// clientKeyPrefix begins the request ID made of a client's Idempotency-Key.
const clientKeyPrefix = "key:"

// writeOnceKey is the context key of the request ID of the write being
// served (a *writeOnceReq).
type writeOnceKey struct{}

// writeOnceReq is the request ID of the write being served and what its
// fingerprint is made of. The fingerprint is that of the request's meaning
// once the HTTP layer has decoded its body (NoteDecoded): a retry that
// sends the same request in another encoding (JSON or msgpack), or the
// same JSON with other spacing or key order, is the same request. A
// request whose body was never decoded keeps the fingerprint of its bytes
// (once.Fingerprint). It is used by the request's goroutine only.
type writeOnceReq struct {
	once structs.WriteOnce
	// line is the method, path and query (keys sorted) of the request.
	line string
	// meaning digests the decoded body (nil until NoteDecoded); failed is
	// set when a decoded value could not be encoded, which leaves the
	// fingerprint of the bytes.
	meaning hash.Hash
	failed  bool
}

// fingerprint is the request's fingerprint as it stands.
func (w *writeOnceReq) fingerprint() string {
	if w.meaning == nil || w.failed {
		return w.once.Fingerprint
	}
	return "m" + hex.EncodeToString(w.meaning.Sum(nil)[:16])
}

// requestLine is the method, path and query of r, the query's keys sorted
// (the order of query parameters means nothing).
func requestLine(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return r.Method + " " + r.URL.EscapedPath() + "?"
	}
	return r.Method + " " + r.URL.EscapedPath() + "?" + r.URL.Query().Encode()
}

// NoteDecoded records that the body of the request served with ctx decoded
// into v (a pointer to the request structure): the request's fingerprint
// is then that of its method, path, query and of the values decoded, in
// the order decoded, encoded canonically (structs.WireMsgpackHandle sorts
// map keys and writes every field by name), not that of the body's bytes.
// It does nothing for a request without a client's Idempotency-Key: the
// only retry of a request ID this server made up is a follower's forward
// of the same bytes.
func NoteDecoded(ctx context.Context, v any) {
	w := writeOnceReqOf(ctx)
	if w == nil || w.failed || !strings.HasPrefix(w.once.RequestID, clientKeyPrefix) {
		return
	}
	if w.meaning == nil {
		w.meaning = sha256.New()
		fmt.Fprintf(w.meaning, "decoded %s\n", w.line)
	}
	// msgpack values delimit themselves: values noted one after the other
	// are one stream, which the digest reads as it is encoded.
	enc := meaningEncoders.Get().(*codec.Encoder)
	enc.Reset(w.meaning)
	err := enc.Encode(v)
	enc.Reset(io.Discard)
	meaningEncoders.Put(enc)
	if err != nil {
		w.failed = true
	}
}

// meaningEncoders are NoteDecoded's msgpack encoders (one is ~2 kB of
// buffers and state, for each write with an Idempotency-Key).
var meaningEncoders = sync.Pool{New: func() any { return codec.NewEncoder(io.Discard, structs.WireMsgpackHandle) }}

// isWrite reports whether method changes state.
func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// stampRequestID gives a write received from a client its request ID and
// fingerprint headers (kept when a server forwarded it here), and returns
// them. body is the whole request body, line its requestLine. A write
// without one (too large a body) returns the zero value.
func stampRequestID(r *http.Request, line string, body []byte, tooLarge bool) (structs.WriteOnce, error) {
	if r.Header.Get(ForwardedHeader) != "" && r.Header.Get(RequestIDHeader) != "" {
		return structs.WriteOnce{RequestID: r.Header.Get(RequestIDHeader), Fingerprint: r.Header.Get(requestFingerprintHeader)}, nil
	}
	if tooLarge {
		r.Header.Del(RequestIDHeader)
		return structs.WriteOnce{}, nil
	}
	id := structs.GenerateUUID()
	if key := r.Header.Get(IdempotencyKeyHeader); key != "" {
		if len(key) > maxIdempotencyKey {
			return structs.WriteOnce{}, structs.NewBadRequest("the %s header is %d bytes long; send at most %d (a UUID is a good key)", IdempotencyKeyHeader, len(key), maxIdempotencyKey)
		}
		// Keys of different callers must not meet: the key is scoped
		// by the caller's token, whichever header Nomad accepts carried
		// it (the same token in the other header is the same caller).
		token := sha256.Sum256([]byte(RequestToken(r)))
		id = clientKeyPrefix + hex.EncodeToString(token[:8]) + ":" + key
	}
	sum := sha256.New()
	_, _ = io.WriteString(sum, line)
	_, _ = sum.Write(newline)
	_, _ = sum.Write(body)
	var digest [sha256.Size]byte
	once := structs.WriteOnce{RequestID: id, Fingerprint: hex.EncodeToString(sum.Sum(digest[:0])[:16])}
	// By their canonical keys: Set canonicalizes these into new strings.
	r.Header[requestIDKey] = []string{once.RequestID}
	r.Header[requestFingerprintKey] = []string{once.Fingerprint}
	return once, nil
}

// The canonical keys of RequestIDHeader and requestFingerprintHeader.
var (
	requestIDKey          = http.CanonicalHeaderKey(RequestIDHeader)
	requestFingerprintKey = http.CanonicalHeaderKey(requestFingerprintHeader)
)

// RequestToken returns the request's secret as the HTTP API reads it:
// X-Nomad-Token, else an "Authorization: Bearer" token ("" for none).
func RequestToken(r *http.Request) string {
	if t := r.Header.Get("X-Nomad-Token"); t != "" {
		return strings.TrimSpace(t)
	}
	if a := r.Header.Get("Authorization"); a != "" {
		if scheme, tok, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

// readBody reads a write's body (up to maxFingerprintBody) and puts it
// back in r. tooLarge reports a larger body, which r keeps unread.
func readBody(r *http.Request) (body []byte, tooLarge bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false, nil
	}
	body, err = ReadAllSized(io.LimitReader(r.Body, maxFingerprintBody+1), r.ContentLength, maxFingerprintBody)
	if err != nil {
		return nil, false, fmt.Errorf("read the request body: %w", err)
	}
	if len(body) > maxFingerprintBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return nil, true, nil
	}
	r.Body = &bufferedBody{Reader: bytes.NewReader(body), b: body}
	return body, false, nil
}

// ReadAllSized is io.ReadAll into one buffer of the size the request
// declares (size, when it is between 0 and max; a body longer than it
// declared grows it as io.ReadAll would): io.ReadAll starts at 512 bytes
// and grows, three buffers and twice the bytes for a 1 KB job. At most
// maxPresized bytes are allocated before they arrive: a peer declaring a
// large body and sending it slowly must not hold that much memory per
// request for nothing.
func ReadAllSized(r io.Reader, size, max int64) ([]byte, error) {
	if size <= 0 || size > max {
		return io.ReadAll(r)
	}
	// One byte more than declared: the read that finds the end then has
	// room, and grows nothing.
	buf := bytes.NewBuffer(make([]byte, 0, min(size, maxPresized)+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// bufferedBody is a write's body Forward read (to fingerprint it) and
// hands on to the handler; BufferedBody gives the handler its bytes.
type bufferedBody struct {
	*bytes.Reader
	b []byte
}

func (*bufferedBody) Close() error { return nil }

// BufferedBody returns the rest of r's body without a copy when Forward
// already read it into memory (every write's body up to the API's limit),
// and consumes it; ok is false for any other body, to be read as usual.
// The bytes are shared: the caller must not modify them.
func BufferedBody(r *http.Request) (b []byte, ok bool) {
	bb, ok := r.Body.(*bufferedBody)
	if !ok {
		return nil, false
	}
	b = bb.b[len(bb.b)-bb.Len():]
	_, _ = bb.Seek(0, io.SeekEnd)
	return b, true
}

// newline ends the request line in a fingerprint.
var newline = []byte{'\n'}

// withWriteOnce returns r carrying once, of the request with requestLine
// line: in its RequestState when it has one (r itself is returned), else
// in a copy of r with a context value of its own.
func withWriteOnce(r *http.Request, once structs.WriteOnce, line string) *http.Request {
	if once.RequestID == "" {
		return r
	}
	if st := requestStateOf(r.Context()); st != nil {
		st.once, st.hasOnce = writeOnceReq{once: once, line: line}, true
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), writeOnceKey{}, &writeOnceReq{once: once, line: line}))
}

// writeOnceReqOf returns the request ID of the write ctx serves, or nil.
func writeOnceReqOf(ctx context.Context) *writeOnceReq {
	if w, ok := ctx.Value(writeOnceKey{}).(*writeOnceReq); ok {
		return w
	}
	if st := requestStateOf(ctx); st != nil && st.hasOnce {
		return &st.once
	}
	return nil
}

// writeOnceIn returns the request ID and the fingerprint of the write ctx
// serves.
func writeOnceIn(ctx context.Context) (structs.WriteOnce, bool) {
	w := writeOnceReqOf(ctx)
	if w == nil {
		return structs.WriteOnce{}, false
	}
	once := w.once
	once.Fingerprint = w.fingerprint()
	return once, true
}

// writeOnceOf returns the request ID of the write ctx serves, with this
// server's clock as its time, for a Raft entry (zero without one).
func (s *Server) writeOnceOf(ctx context.Context) structs.WriteOnce {
	once, ok := writeOnceIn(ctx)
	if !ok {
		return structs.WriteOnce{}
	}
	once.Time = s.now().UnixNano()
	return once
}

// appliedBefore returns the record of the write ctx serves when an earlier
// request with its ID was applied (this one is a retry), or nil. An ID
// applied for another request is a 422.
func (s *Server) appliedBefore(ctx context.Context) (*structs.WriteRecord, error) {
	once, ok := writeOnceIn(ctx)
	if !ok {
		return nil, nil
	}
	rec, err := s.state.WriteRecord(once.RequestID)
	if err != nil {
		return nil, fmt.Errorf("look up request ID %q: %w", once.RequestID, err)
	}
	if rec != nil && rec.Fingerprint != once.Fingerprint {
		return nil, structs.ReusedRequestIDError(rec)
	}
	return rec, nil
}

// raftApplyOnce is raftApply for an entry whose Once field is once. When
// the state store found the entry's request ID already applied (a retry
// that raced with the first attempt), it returns that first apply's record.
func (s *Server) raftApplyOnce(ctx context.Context, t structs.MessageType, body any, once structs.WriteOnce) (uint64, *structs.WriteRecord, error) {
	index, err := s.raftApply(ctx, t, body)
	if err != nil || once.RequestID == "" {
		return index, nil, err
	}
	rec, err := s.state.WriteRecord(once.RequestID)
	if err != nil {
		return index, nil, fmt.Errorf("look up request ID %q: %w", once.RequestID, err)
	}
	if rec != nil && rec.Index != index {
		return index, rec, nil
	}
	return index, nil, nil
}

// registerReply answers a job register, scale, revert or evaluate that
// was applied before with what the first apply answered.
func registerReply(rec *structs.WriteRecord, warnings string) *structs.JobRegisterResponse {
	resp := &structs.JobRegisterResponse{JobModifyIndex: rec.JobModifyIndex, Index: rec.Index, Warnings: warnings}
	if resp.JobModifyIndex == 0 {
		resp.JobModifyIndex = rec.Index
	}
	if rec.EvalID != "" {
		resp.EvalID, resp.EvalCreateIndex = rec.EvalID, rec.Index
	}
	return resp
}

// deregisterReply answers a job stop or purge applied before.
func deregisterReply(rec *structs.WriteRecord) *structs.JobDeregisterResponse {
	r := registerReply(rec, "")
	return &structs.JobDeregisterResponse{EvalID: r.EvalID, EvalCreateIndex: r.EvalCreateIndex, JobModifyIndex: r.JobModifyIndex, Index: r.Index}
}

// dispatchReply answers a dispatch applied before: its child and evaluation.
func dispatchReply(rec *structs.WriteRecord) *structs.JobDispatchResponse {
	return &structs.JobDispatchResponse{DispatchedJobID: rec.JobID, EvalID: rec.EvalID, EvalCreateIndex: rec.Index, JobCreateIndex: rec.Index, Index: rec.Index}
}

// forceReply answers a forced periodic launch applied before: its child's
// evaluation (Index is the child's register, at or before the launch's).
func forceReply(rec *structs.WriteRecord) *structs.PeriodicForceResponse {
	return &structs.PeriodicForceResponse{EvalID: rec.EvalID, EvalCreateIndex: rec.Index, Index: rec.Index}
}
