package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// eventFrame is one line of the event stream: events, a heartbeat ({}), or
// the error the server ended the stream with.
type eventFrame struct {
	structs.Events
	Error string `json:",omitempty"`
}

// EventStream follows GET /v1/event/stream, calling fn with each frame of
// events (heartbeats are skipped) until ctx ends (nil is returned), fn
// returns an error (returned), or the server ends the stream (its reason is
// returned). topics maps a topic to keys ("*" for all); nil asks for every
// topic. index replays the server's buffered events from that Raft index.
func (c *Client) EventStream(ctx context.Context, topics map[structs.Topic][]string, index uint64, q *QueryOptions, fn func(*structs.Events) error) error {
	o := QueryOptions{}
	if q != nil {
		o = *q
	}
	o.WaitIndex, o.WaitTime = 0, 0
	params := make(map[string]string, len(o.Params)+1)
	for k, v := range o.Params {
		params[k] = v
	}
	params["index"] = strconv.FormatUint(index, 10)
	o.Params = params
	u, err := url.Parse(c.url("/v1/event/stream", &o))
	if err != nil {
		return fmt.Errorf("event stream URL: %w", err)
	}
	v := u.Query()
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, string(t))
	}
	sort.Strings(names)
	for _, t := range names {
		for _, k := range topics[structs.Topic(t)] {
			v.Add("topic", t+":"+k)
		}
	}
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.send(req, "/v1/event/stream")
	if err != nil {
		var apiErr *Error
		if ctx.Err() != nil && !errors.As(err, &apiErr) {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var f eventFrame
		if err := dec.Decode(&f); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return errors.New("event stream: the agent closed the stream")
			}
			return fmt.Errorf("event stream: %w", err)
		}
		if f.Error != "" {
			return fmt.Errorf("event stream ended by the server: %s", f.Error)
		}
		if f.IsHeartbeat() {
			continue
		}
		if err := fn(&f.Events); err != nil {
			return err
		}
	}
}
