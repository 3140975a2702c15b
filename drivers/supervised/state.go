package supervised

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
)

// StateVersion is the encoding version of TaskHandle.DriverState.
const StateVersion = 1

// State is the part of TaskHandle.DriverState every supervised driver
// keeps: what a restarted client needs to find the supervisor again.
type State struct {
	StateDir      string
	SupervisorPID int
	PID           int
	StartedAt     time.Time
}

// encodeState encodes st and data as one JSON object: st's fields, then
// data's (which must encode as an object with other keys).
func encodeState[X any](st State, data X) ([]byte, error) {
	base, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	extra = bytes.TrimSpace(extra)
	if len(extra) < 2 || extra[0] != '{' || extra[len(extra)-1] != '}' {
		return nil, fmt.Errorf("driver data %T encodes as %s, not a JSON object", data, extra)
	}
	if len(bytes.TrimSpace(extra[1:len(extra)-1])) == 0 {
		return base, nil
	}
	out := append(base[:len(base)-1:len(base)-1], ',')
	return append(out, extra[1:]...), nil
}

// decodeState decodes h's DriverState for the driver called name.
func decodeState[X any](name string, h *drivers.TaskHandle) (State, X, error) {
	var (
		st   State
		data X
	)
	if h.Version != StateVersion {
		return st, data, fmt.Errorf("%s handle has version %d, this driver understands %d", name, h.Version, StateVersion)
	}
	if err := json.Unmarshal(h.DriverState, &st); err != nil {
		return st, data, fmt.Errorf("decode %s handle state: %w", name, err)
	}
	if err := json.Unmarshal(h.DriverState, &data); err != nil {
		return st, data, fmt.Errorf("decode %s handle state: %w", name, err)
	}
	if st.StateDir == "" {
		return st, data, errors.New(name + " handle state has no state dir")
	}
	return st, data, nil
}
