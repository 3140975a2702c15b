package agent

import (
	"bytes"
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

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// handlerFunc is an endpoint: it returns the value to encode as JSON, or an
// error the wrapper maps to a status code. Handlers that read state set
// X-Nomad-Index themselves (setIndex); the wrapper sets the rest.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// wrap turns a handlerFunc into an http.Handler: the one place that encodes
// replies, sets the X-Nomad-* headers and maps errors.
func (s *HTTPServer) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.setLeaderHeaders(w)
		out, err := h(w, r)
		if errors.Is(err, errHandled) {
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeJSON(w, r, http.StatusOK, out)
	})
}

// errHandled tells wrap that the handler has written the reply itself.
var errHandled = errors.New("reply already written")

// setLeaderHeaders sets X-Nomad-KnownLeader and X-Nomad-LastContact.
func (s *HTTPServer) setLeaderHeaders(w http.ResponseWriter) {
	if s.srv == nil {
		return
	}
	known := s.srv.Leader() != ""
	h := w.Header()
	// By their canonical keys: Set canonicalizes "X-Nomad-KnownLeader"
	// into a new string on every reply.
	h[knownLeaderKey] = []string{strconv.FormatBool(known)}
	// The time since this server last heard from the leader (0 on the
	// leader); a server without cluster support is its own leader.
	var last time.Duration
	if s.cluster != nil {
		last = s.cluster.LastContact()
	}
	h[lastContactKey] = []string{lastContactHeader(last)}
}

// The canonical keys of X-Nomad-KnownLeader and X-Nomad-LastContact.
var (
	knownLeaderKey = http.CanonicalHeaderKey("X-Nomad-KnownLeader")
	lastContactKey = http.CanonicalHeaderKey("X-Nomad-LastContact")
)

// setIndex sets X-Nomad-Index; the index is at least 1 so that clients
// using it as the next blocking query's index never spin on 0.
func setIndex(w http.ResponseWriter, index uint64) {
	if index < 1 {
		index = 1
	}
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
}

// wireReply marks a client protocol reply, which is encoded in msgpack
// (structs.MsgpackContentType) for a client that accepts it and in JSON
// otherwise.
type wireReply struct{ v any }

// replyEncoder is a reusable msgpack encoder of replies with its buffer:
// one made per reply, its buffer grown from nothing by doubling, was most
// of the bytes a server allocated per allocation under nodesim.
type replyEncoder struct {
	enc *codec.Encoder
	buf []byte
}

var replyEncoders = sync.Pool{New: func() any { return &replyEncoder{} }}

// maxKeptReply bounds the buffer a pooled reply encoder keeps: a large
// reply's buffer goes with it (a crowd of woken watchers must not leave
// their replies' memory in the pool).
const maxKeptReply = 64 << 10

// encode returns v's msgpack encoding, valid until release.
func (e *replyEncoder) encode(v any) ([]byte, error) {
	if e.buf == nil {
		e.buf = make([]byte, 0, 4096)
	}
	e.buf = e.buf[:0]
	if e.enc == nil {
		e.enc = codec.NewEncoderBytes(&e.buf, structs.WireMsgpackReplyHandle)
	} else {
		e.enc.ResetBytes(&e.buf)
	}
	if err := e.enc.Encode(v); err != nil {
		e.buf, e.enc = nil, nil // an encoder that failed midway is not reused
		return nil, err
	}
	return e.buf, nil
}

// release puts e back in the pool, without its buffer when that grew past
// maxKeptReply (the encoder holds it too until its next reset: both go).
func (e *replyEncoder) release() {
	if cap(e.buf) > maxKeptReply {
		e.buf, e.enc = nil, nil
	}
	replyEncoders.Put(e)
}

// acceptsMsgpack reports whether the request's Accept lists msgpack.
func acceptsMsgpack(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), structs.MsgpackContentType)
}

func (s *HTTPServer) writeJSON(w http.ResponseWriter, r *http.Request, code int, out any) {
	var (
		b   []byte
		err error
	)
	if wr, ok := out.(wireReply); ok {
		out = wr.v
		if acceptsMsgpack(r) {
			e := replyEncoders.Get().(*replyEncoder)
			defer e.release()
			b, err := e.encode(out)
			if err != nil {
				s.writeError(w, r, fmt.Errorf("encode the reply of %s %s as msgpack: %w", r.Method, r.URL.Path, err))
				return
			}
			h := w.Header()
			h.Set("Content-Type", structs.MsgpackContentType)
			h.Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(code)
			_, _ = w.Write(b)
			return
		}
	}
	pretty := false
	if r.URL.RawQuery != "" {
		_, pretty = r.URL.Query()["pretty"]
	}
	if pretty {
		b, err = json.MarshalIndent(out, "", "    ")
		if err != nil {
			s.writeError(w, r, fmt.Errorf("encode the reply of %s %s as JSON: %w", r.Method, r.URL.Path, err))
			return
		}
		b = append(b, '\n')
	} else {
		// Into a pooled buffer: json.Marshal copies its result out of its
		// own, and appending the newline copied it again. The bytes are
		// the same (Encode is Marshal and a newline).
		e := jsonReplies.Get().(*jsonReply)
		defer e.release()
		if err := e.enc.Encode(out); err != nil {
			s.writeError(w, r, fmt.Errorf("encode the reply of %s %s as JSON: %w", r.Method, r.URL.Path, err))
			return
		}
		b = e.buf.Bytes()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// jsonReply is a pooled JSON encoder of replies with its buffer.
type jsonReply struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonReplies = sync.Pool{New: func() any {
	e := &jsonReply{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

// release empties e and puts it back in the pool, unless its buffer grew
// past maxKeptReply (a large reply's memory is not kept).
func (e *jsonReply) release() {
	if e.buf.Cap() > maxKeptReply {
		return
	}
	e.buf.Reset()
	jsonReplies.Put(e)
}

// errorStatus maps an error to an HTTP status code. User mistakes carry
// their code (*structs.CodedError); sentinels map to theirs.
func errorStatus(err error) int {
	var (
		coded   *structs.CodedError
		invalid *structs.ValidationError
		tooBig  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &coded) && coded.Code != 0:
		return coded.Code
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &invalid):
		return http.StatusBadRequest
	case errors.Is(err, structs.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, structs.ErrPermissionDenied):
		return http.StatusForbidden
	case errors.Is(err, structs.ErrNotLeader):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// writeError sends err as Nomad does: the status code and the message as
// plain text (the official client shows the body verbatim).
func (s *HTTPServer) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := errorStatus(err)
	msg := err.Error()
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		msg = fmt.Sprintf("request body is larger than the limit of %d bytes; send a smaller body", tooBig.Limit)
	}
	if code >= 500 {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", code, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, msg)
}

func notFound(_ http.ResponseWriter, r *http.Request) (any, error) {
	return nil, structs.NewNotFound("no endpoint %s %s; see /v1 for the API (nomadlike implements Nomad's HTTP API)", r.Method, r.URL.Path)
}

func methodNotAllowed(_ http.ResponseWriter, r *http.Request) (any, error) {
	return nil, &structs.CodedError{Code: http.StatusMethodNotAllowed, Msg: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)}
}

// maxJSONDepth bounds how deep a request body's objects and arrays nest.
// No Nomad request nests beyond a few dozen levels; the bound keeps deep
// values out of the Raft log, whose msgpack decoder stops at 1,024.
const maxJSONDepth = 100

// decodeBody reads a JSON request body into out: one JSON value, nested at
// most maxJSONDepth deep, and nothing but white space after it. Errors are
// 400s naming the reason, the field and the offset; a body over the limit
// is a 413.
//
// A write's fingerprint (its Idempotency-Key's) is then that of the value
// decoded, not of the bytes (server.NoteDecoded).
func decodeBody(r *http.Request, out any) error {
	b, err := readBody(r, "JSON")
	if err != nil {
		return err
	}
	if err := decodeJSON(b, out); err != nil {
		return err
	}
	server.NoteDecoded(r.Context(), out)
	return nil
}

// readBody reads the request body of decodeBody or decodeClientBody
// (format names what to send in the error of a missing body): a body over
// the limit is a 413, another read error a 400.
func readBody(r *http.Request, format string) ([]byte, error) {
	if r.Body == nil {
		return nil, structs.NewBadRequest("request body is empty; send a %s object", format)
	}
	if b, ok := server.BufferedBody(r); ok {
		return b, nil // a write's body, read by the leader forwarding
	}
	b, err := server.ReadAllSized(r.Body, r.ContentLength, 1<<20)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, structs.NewBadRequest("read the request body: %v", err)
	}
	return b, nil
}

// decodeClientBody is decodeBody for the client protocol's endpoints: a
// body with Content-Type structs.MsgpackContentType is msgpack, nested at
// most structs.WireMsgpackHandle.MaxDepth deep (100, a literal of its own:
// keep it with maxJSONDepth); any other is JSON.
func decodeClientBody(r *http.Request, out any) error {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), structs.MsgpackContentType) {
		return decodeBody(r, out)
	}
	b, err := readBody(r, "msgpack")
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return structs.NewBadRequest("request body is empty; send a msgpack object")
	}
	if err := codec.NewDecoderBytes(b, structs.WireMsgpackHandle).Decode(out); err != nil {
		return structs.NewBadRequest("request body is not valid msgpack for this endpoint (Content-Type %s): %v", structs.MsgpackContentType, err)
	}
	if err := structs.CheckNoNullElements(out, ""); err != nil {
		return err
	}
	server.NoteDecoded(r.Context(), out)
	return nil
}

// decodeJSON is decodeBody on bytes read.
func decodeJSON(b []byte, out any) error {
	off, end := jsonDepthScan(b, maxJSONDepth)
	if off >= 0 {
		return structs.NewBadRequest("request body nests JSON objects and arrays more than %d deep (at offset %d); the limit is %d", maxJSONDepth, off, maxJSONDepth)
	}
	if first := bytes.TrimLeft(b, " \t\r\n"); end > 0 && (first[0] == '{' || first[0] == '[') && len(bytes.TrimLeft(b[end:], " \t\r\n")) == 0 {
		// One object or array and nothing after it: json.Unmarshal reads
		// it where it is, where a Decoder copies the body into a buffer of
		// its own first; the errors are the same
		// (TestDecodeJSONErrorsAsDecoder).
		return jsonBodyResult(json.Unmarshal(b, out), out)
	}
	return decodeJSONStream(b, out)
}

// decodeJSONStream decodes b through a json.Decoder, which tells an empty
// or truncated body and data after the value apart.
func decodeJSONStream(b []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	err := dec.Decode(out)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return structs.NewBadRequest("request body has data after the JSON value (at offset %d); send exactly one JSON object", dec.InputOffset())
		}
	}
	return jsonBodyResult(err, out)
}

// jsonBodyResult turns the error of a JSON decode into out into the 400 the
// user gets, naming the offset or the field; a decode without one is
// checked for null list elements.
func jsonBodyResult(err error, out any) error {
	if err == nil {
		// [null] in a list of objects is refused here, by its path, so
		// that no handler meets a nil element.
		return structs.CheckNoNullElements(out, "")
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return structs.NewBadRequest("request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return structs.NewBadRequest("request body is truncated JSON: it ends before the value is complete")
	case errors.As(err, &syn):
		return structs.NewBadRequest("request body is not valid JSON at offset %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return structs.NewBadRequest("request body: field %q must be %s, not JSON %s (offset %d)", field, typ.Type, typ.Value, typ.Offset)
	}
	return structs.NewBadRequest("request body: %v", err)
}

// jsonDepthScan returns the offset at which JSON text b nests objects and
// arrays deeper than max, or -1 (brackets inside strings do not count;
// malformed text is left to the decoder), and where the first top-level
// object or array ends (the offset after the bracket that brings the depth
// back to 0), or -1 when b holds none that ends.
func jsonDepthScan(b []byte, max int) (overflow, end int) {
	depth := 0
	end = -1
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > max {
				return i, end
			}
		case '}', ']':
			if depth--; depth == 0 && end < 0 {
				end = i + 1
			}
		}
	}
	return -1, end
}
