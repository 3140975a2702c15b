package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// NodeClientAllocs is the client protocol's allocation watch (GET
// /v1/node/{id}/client-allocations, a blocking query): the AllocModifyIndex
// of each of the node's allocations by ID. The client must be created with
// the node's secret as its token.
func (c *Client) NodeClientAllocs(ctx context.Context, nodeID string, q *QueryOptions) (*structs.NodeClientAllocs, *QueryMeta, error) {
	var out structs.NodeClientAllocs
	m, err := c.NodeClientAllocsInto(ctx, nodeID, q, &out)
	return &out, m, err
}

// NodeClientAllocsInto is NodeClientAllocs decoding the reply (JSON or
// msgpack) into out, a structs.NodeClientAllocs or a type of the same
// shape (the client's leaves the job versions undecoded until it needs
// them).
func (c *Client) NodeClientAllocsInto(ctx context.Context, nodeID string, q *QueryOptions, out any) (*QueryMeta, error) {
	return c.clientCall(ctx, http.MethodGet, "/v1/node/"+pathEscape(nodeID)+"/client-allocations", q, nil, nil, out)
}

// PullNodeAllocs fetches some of the node's allocations without their jobs,
// with the job versions they run that are not in req.HaveJobs
// (PUT /v1/node/{id}/client-allocations).
func (c *Client) PullNodeAllocs(ctx context.Context, nodeID string, req *structs.NodeAllocsPullRequest) (*structs.NodeAllocsPullResponse, error) {
	var out structs.NodeAllocsPullResponse
	_, err := c.clientCall(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/client-allocations", nil, nil, req, &out)
	return &out, err
}

// UpdateAllocations reports the client's view of its allocations
// (PUT /v1/node/{id}/allocations): ClientStatus, ClientDescription,
// TaskStates. A non-empty key is sent as the Idempotency-Key: a retry of
// the same update with the same key is applied once.
func (c *Client) UpdateAllocations(ctx context.Context, nodeID string, allocs []*structs.Allocation, key string) (*structs.GenericResponse, error) {
	var out structs.GenericResponse
	var h http.Header
	if key != "" {
		h = http.Header{"Idempotency-Key": {key}}
	}
	_, err := c.clientCall(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/allocations", nil, h, &structs.NodeAllocUpdateRequest{Allocs: allocs}, &out)
	return &out, err
}

// clientCall is a client protocol call: it asks for a msgpack reply
// (structs.MsgpackContentType) and decodes the reply by its Content-Type,
// so a server that answers only JSON still works; it sends body in
// msgpack once this agent has answered in msgpack, and in JSON until then
// (and again after a 400 or 415 to a msgpack body: the agent was replaced
// by one without it).
func (c *Client) clientCall(ctx context.Context, method, path string, q *QueryOptions, h http.Header, body, out any) (*QueryMeta, error) {
	mp := body != nil && c.msgpack.Load()
	resp, err := c.sendClientCall(ctx, method, path, q, h, body, mp)
	var apiErr *Error
	if mp && errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusBadRequest || apiErr.StatusCode == http.StatusUnsupportedMediaType) {
		c.msgpack.Store(false)
		resp, err = c.sendClientCall(ctx, method, path, q, h, body, false)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), structs.MsgpackContentType) {
		c.msgpack.Store(true)
		// Read whole, then decode from bytes: the codec reading the body
		// itself asked it for a byte or a few at a time (about 8% of a
		// simulated node's CPU).
		var b []byte
		if b, err = readReply(resp); err == nil {
			err = codec.NewDecoderBytes(b, structs.WireMsgpackHandle).Decode(out)
		}
	} else {
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return parseMeta(resp), nil
}

// readReply reads a reply's body, into a buffer of its Content-Length
// when it has one.
func readReply(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxSizedReply {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(resp.Body)
}

// maxSizedReply bounds the buffer readReply makes from a Content-Length
// before reading (larger replies grow as they arrive).
const maxSizedReply = 16 << 20

// sendClientCall sends a client protocol call with its body in msgpack
// (mp) or JSON.
func (c *Client) sendClientCall(ctx context.Context, method, path string, q *QueryOptions, h http.Header, body any, mp bool) (*http.Response, error) {
	var rd io.Reader
	ctype := "application/json"
	if body != nil {
		var b []byte
		var err error
		if mp {
			ctype = structs.MsgpackContentType
			err = codec.NewEncoderBytes(&b, structs.WireMsgpackHandle).Encode(body)
		} else {
			b, err = json.Marshal(body)
		}
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), rd)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", structs.MsgpackContentType+", application/json")
	return c.send(req, path)
}
