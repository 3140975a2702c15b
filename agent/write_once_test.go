package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// lossyForward is a forwarding transport that loses the leader's first
// answer to every write: it sends the request, waits for the whole answer
// (so the leader has applied the write) and then fails as a dropped
// connection does. The follower must retry, and the leader apply once.
type lossyForward struct {
	next http.RoundTripper
	mu   *sync.Mutex
	// sent counts the forwards of each request ID.
	sent map[string]int
}

func (l lossyForward) RoundTrip(r *http.Request) (*http.Response, error) {
	id := r.Header.Get(server.RequestIDHeader)
	if r.Method == http.MethodGet || id == "" {
		return l.next.RoundTrip(r)
	}
	l.mu.Lock()
	l.sent[id]++
	first := l.sent[id] == 1
	l.mu.Unlock()
	resp, err := l.next.RoundTrip(r)
	if err != nil || !first {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, errors.New("test: the connection dropped after the leader answered")
}

// TestForwardRetryAppliesOnce: writes through a follower whose first
// forward of each write is applied by the leader but whose answer is lost
// are retried by the follower and applied once: one job version and one
// evaluation for a register, one child for a dispatch, and the caller gets
// the first apply's answer.
func TestForwardRetryAppliesOnce(t *testing.T) {
	var mu sync.Mutex
	sent := map[string]int{}
	servers := startCluster(t, 3, func(c *Config) {
		c.Server.forwardTransport = func(next http.RoundTripper) http.RoundTripper {
			return lossyForward{next: next, mu: &mu, sent: sent}
		}
	})
	leader := waitLeader(t, servers, 3)
	var follower *clusterServer
	for _, s := range servers {
		if s != leader {
			follower = s
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, lc := follower.api(t), leader.api(t)

	reg, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: clusterJob("idem-web")})
	if err != nil {
		t.Fatalf("register through %s: %v", follower.name, err)
	}
	evals, _, err := lc.JobEvaluations(ctx, "idem-web", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The scheduler adds a blocked evaluation (there are no nodes): count
	// the register's.
	var ids []string
	for _, e := range evals {
		if e.TriggeredBy == structs.EvalTriggerJobRegister {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) != 1 || ids[0] != reg.EvalID {
		t.Errorf("evaluations of a register retried by the follower: %v, want only %s (the one answered)", ids, reg.EvalID)
	}
	versions, _, err := lc.JobVersions(ctx, "idem-web", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions.Versions) != 1 || versions.Versions[0].JobModifyIndex != reg.JobModifyIndex {
		t.Errorf("job versions after a retried register: %d (want 1, at JobModifyIndex %d)", len(versions.Versions), reg.JobModifyIndex)
	}

	param := clusterJob("idem-param")
	param.Type = structs.JobTypeBatch
	param.ParameterizedJob = &structs.ParameterizedJobConfig{}
	if _, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: param}); err != nil {
		t.Fatalf("register the parameterized job: %v", err)
	}
	disp, err := c.DispatchJob(ctx, &structs.JobDispatchRequest{JobID: "idem-param"}, nil)
	if err != nil {
		t.Fatalf("dispatch through %s: %v", follower.name, err)
	}
	children := jobIDs(t, lc, &api.QueryOptions{Prefix: "idem-param/"})
	if len(children) != 1 || children[0] != disp.DispatchedJobID {
		t.Errorf("children of a dispatch retried by the follower: %v, want only %s (the one answered)", children, disp.DispatchedJobID)
	}
	// A client's keyed dispatch sent to the leader, retried through the
	// follower re-serialised: the leader fingerprints what it decodes, so
	// the forward (itself retried) is a repeat of the first.
	code, first := keyedWrite(t, leader.agent.HTTPAddr(), http.MethodPut, "/v1/job/idem-param/dispatch", "k1", "",
		[]byte(`{"JobID":"idem-param","Meta":{}}`))
	if code != http.StatusOK {
		t.Fatalf("keyed dispatch to the leader: %d %s", code, first)
	}
	code, again := keyedWrite(t, follower.agent.HTTPAddr(), http.MethodPut, "/v1/job/idem-param/dispatch", "k1", "",
		[]byte("{ \"Meta\": {}, \"JobID\": \"idem-param\" }"))
	if code != http.StatusOK || again != first {
		t.Errorf("the keyed dispatch retried re-serialised through the follower: %d %s, want the first answer %s", code, again, first)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 4 {
		t.Errorf("the follower forwarded %d writes, want 4", len(sent))
	}
	for id, n := range sent {
		if n != 2 {
			t.Errorf("write %s was forwarded %d times, want 2 (the lost answer, then the retry)", id, n)
		}
	}
}

// TestIdempotencyKey: a client that retries a write with the same
// Idempotency-Key gets the first answer and the write is applied once; the
// same key with another request is a 422; another caller's same key is
// another write.
func TestIdempotencyKey(t *testing.T) {
	a := startDevAgent(t)
	param := clusterJob("idem-key")
	param.Type = structs.JobTypeBatch
	param.ParameterizedJob = &structs.ParameterizedJobConfig{MetaOptional: []string{"n"}}
	c, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: param}); err != nil {
		t.Fatal(err)
	}
	dispatch := func(key, n string, token ...string) (int, string) {
		t.Helper()
		body, _ := json.Marshal(&structs.JobDispatchRequest{JobID: "idem-key", Meta: map[string]string{"n": n}})
		req, err := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/job/idem-key/dispatch", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(server.IdempotencyKeyHeader, key)
		for _, tok := range token {
			req.Header.Set("X-Nomad-Token", tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, string(out)
		}
		var r structs.JobDispatchResponse
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("decode %s: %v", out, err)
		}
		return resp.StatusCode, r.DispatchedJobID
	}
	_, first := dispatch("key-1", "1")
	_, again := dispatch("key-1", "1")
	if first == "" || again != first {
		t.Errorf("a dispatch retried with the same Idempotency-Key answered child %q, the first %q: want the same child", again, first)
	}
	if code, msg := dispatch("key-1", "2"); code != http.StatusUnprocessableEntity || !strings.Contains(msg, "Idempotency-Key") {
		t.Errorf("the same Idempotency-Key with another body: %d %q, want a 422 naming the header", code, msg)
	}
	_, other := dispatch("key-2", "1")
	if other == "" || other == first {
		t.Errorf("another Idempotency-Key dispatched %q, want a new child", other)
	}
	// Keys are scoped by the caller's token: another caller's key-1 is
	// another write.
	_, otherCaller := dispatch("key-1", "1", "another-token")
	if otherCaller == "" || otherCaller == first {
		t.Errorf("another caller's key-1 dispatched %q, want a new child (keys are scoped by token)", otherCaller)
	}
	if children := jobIDs(t, c, &api.QueryOptions{Prefix: "idem-key/"}); len(children) != 3 {
		t.Errorf("children after dispatches with keys key-1, key-1, key-2 and another caller's key-1: %v, want 3", children)
	}
}

// keyedWrite sends a write with an Idempotency-Key and returns its status
// and body.
func keyedWrite(t *testing.T, addr, method, path, key, contentType string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(server.IdempotencyKeyHeader, key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestIdempotencyKeyMeansTheRequest: a retry with the same Idempotency-Key
// is the same request when it means the same, however it is encoded: JSON
// re-serialised (other spacing, key order, query order) or, on the client
// protocol, msgpack instead of JSON. It was a 422 (the fingerprint was of
// the body's bytes), and so was the same token sent in the other header
// (a new write). A request that means something else is still a 422.
func TestIdempotencyKeyMeansTheRequest(t *testing.T) {
	a := startDevAgentWith(t, func(c *Config) { c.Client.Enabled = false })
	addr := a.HTTPAddr()
	c, err := api.NewClient(api.Config{Address: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	param := clusterJob("idem-meaning")
	param.Type = structs.JobTypeBatch
	param.ParameterizedJob = &structs.ParameterizedJobConfig{MetaOptional: []string{"a", "b"}}
	if _, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: param}); err != nil {
		t.Fatal(err)
	}
	const dispatch = "/v1/job/idem-meaning/dispatch"
	code, first := keyedWrite(t, addr, http.MethodPut, dispatch+"?region=global&namespace=default", "k1", "",
		[]byte(`{"JobID":"idem-meaning","Meta":{"a":"1","b":"2"}}`))
	if code != http.StatusOK {
		t.Fatalf("dispatch: %d %s", code, first)
	}
	code, again := keyedWrite(t, addr, http.MethodPut, dispatch+"?namespace=default&region=global", "k1", "",
		[]byte("{\n  \"Meta\": {\"b\": \"2\", \"a\": \"1\"},\n  \"JobID\": \"idem-meaning\"\n}\n"))
	if code != http.StatusOK || again != first {
		t.Errorf("the same dispatch re-serialised, same key: %d %s, want 200 and the first answer %s", code, again, first)
	}
	if code, msg := keyedWrite(t, addr, http.MethodPut, dispatch, "k1", "",
		[]byte(`{"JobID":"idem-meaning","Meta":{"a":"1","b":"3"}}`)); code != http.StatusUnprocessableEntity {
		t.Errorf("another dispatch with the same key: %d %s, want 422", code, msg)
	}
	// The same caller's token, sent in either header Nomad accepts, is one
	// scope for its keys.
	body := []byte(`{"JobID":"idem-meaning","Meta":{"a":"5"}}`)
	code, viaHeader := keyedWrite(t, addr, http.MethodPut, dispatch, "k2", "", body, "X-Nomad-Token", "tok-x")
	if code != http.StatusOK {
		t.Fatalf("dispatch with X-Nomad-Token: %d %s", code, viaHeader)
	}
	if code, viaBearer := keyedWrite(t, addr, http.MethodPut, dispatch, "k2", "", body, "Authorization", "Bearer tok-x"); code != http.StatusOK || viaBearer != viaHeader {
		t.Errorf("the same dispatch and key, the token sent as a bearer token: %d %s, want the first answer %s", code, viaBearer, viaHeader)
	}

	// The client protocol: a node's allocation update in JSON, then retried in msgpack.
	node := schedtest.Node()
	if code, msg := send(t, addr, http.MethodPut, "/v1/node/register", "", string(mustJSONBytes(t, map[string]any{"Node": node}))); code != http.StatusOK {
		t.Fatalf("register a node: %d %s", code, msg)
	}
	if _, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: clusterJob("idem-web")}); err != nil {
		t.Fatal(err)
	}
	var allocID string
	waitFor(t, "an allocation on the node", 20*time.Second, func() (bool, string) {
		allocs, _, err := c.JobAllocations(ctx, "idem-web", nil)
		if err != nil || len(allocs) == 0 {
			return false, fmt.Sprint(len(allocs), err)
		}
		allocID = allocs[0].ID
		return true, ""
	})
	update := func(status string) *structs.NodeAllocUpdateRequest {
		return &structs.NodeAllocUpdateRequest{Allocs: []*structs.Allocation{{ID: allocID, ClientStatus: status,
			TaskStates: map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning}}}}}
	}
	var mp []byte
	if err := codec.NewEncoderBytes(&mp, structs.WireMsgpackHandle).Encode(update(structs.AllocClientStatusRunning)); err != nil {
		t.Fatal(err)
	}
	path, tok := "/v1/node/"+node.ID+"/allocations", []string{"X-Nomad-Token", node.SecretID}
	if code, msg := keyedWrite(t, addr, http.MethodPut, path, "u1", "", mustJSONBytes(t, update(structs.AllocClientStatusRunning)), tok...); code != http.StatusOK {
		t.Fatalf("allocation update in JSON: %d %s", code, msg)
	}
	if code, msg := keyedWrite(t, addr, http.MethodPut, path, "u1", structs.MsgpackContentType, mp, tok...); code != http.StatusOK {
		t.Errorf("the same allocation update retried in msgpack: %d %s, want 200", code, msg)
	}
	if code, msg := keyedWrite(t, addr, http.MethodPut, path, "u1", "", mustJSONBytes(t, update(structs.AllocClientStatusFailed)), tok...); code != http.StatusUnprocessableEntity {
		t.Errorf("another allocation update with the same key: %d %s, want 422", code, msg)
	}
}

func mustJSONBytes(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
