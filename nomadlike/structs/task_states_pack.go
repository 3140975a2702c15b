package structs

import (
	"encoding/binary"
	"reflect"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// A running allocation's task states, as the state store kept them, were
// ~580 of its ~2,500 bytes: a map of one entry (~256 bytes however small),
// the TaskState (128) and each event (192). The servers read them in a few
// places only (rescheduling, drain health, list stubs) and otherwise send
// them, so the state store keeps them packed in one string of ~60-100
// bytes (PackTaskStates) and every reader goes through TaskStateMap, which
// unpacks them; JSON, msgpack and Copy unpack them too, so no encoding
// changes.

// plainAllocation is Allocation without its methods: the encoding of its
// fields themselves.
type plainAllocation Allocation

// PackTaskStates keeps a's TaskStates packed: TaskStates reads nil
// afterwards (TaskStateMap returns them). a must be the caller's own (the
// state store packs its stored copies); the TaskState values are not
// changed. Task states whose times are in a location other than UTC,
// Local or a fixed zone stay as they are.
func (a *Allocation) PackTaskStates() {
	if a.TaskStates == nil {
		return
	}
	p, ok := packTaskStates(a.TaskStates)
	if !ok {
		return
	}
	a.packedTaskStates, a.TaskStates = p, nil
}

// TaskStateMap returns a's task states, unpacked when PackTaskStates packed
// them (the map is then the caller's). Code that may hold a stored
// allocation reads its task states through it, never through TaskStates.
func (a *Allocation) TaskStateMap() map[string]*TaskState {
	if a.packedTaskStates != "" {
		return unpackTaskStates(a.packedTaskStates)
	}
	return a.TaskStates
}

// KeepTaskStatesOf gives a the task states of b, packed or not (shared:
// both are immutable stored versions or copies of them).
func (a *Allocation) KeepTaskStatesOf(b *Allocation) {
	a.TaskStates, a.packedTaskStates = b.TaskStates, b.packedTaskStates
}

// unpacked returns a with its task states and metric unpacked (a itself
// when neither is packed; else a shallow copy). The encodings write it.
func (a *Allocation) unpacked() *Allocation {
	if a == nil || a.packedTaskStates == "" && a.packedMetrics == "" {
		return a
	}
	n := *a
	if a.packedTaskStates != "" {
		n.TaskStates, n.packedTaskStates = unpackTaskStates(a.packedTaskStates), ""
	}
	if a.packedMetrics != "" {
		n.Metrics, n.packedMetrics = unpackMetric(a.packedMetrics), ""
	}
	return &n
}

// Equal reports whether a and b are the same allocation version, their
// task states and metrics packed or not (go-cmp calls it).
func (a *Allocation) Equal(b *Allocation) bool {
	ua, ub := a.unpacked(), b.unpacked()
	if ua == nil || ub == nil {
		return ua == ub
	}
	ca, cb := *ua, *ub
	ca.Metrics, cb.Metrics = ua.Metrics.unpacked(), ub.Metrics.unpacked()
	return reflect.DeepEqual(&ca, &cb)
}

// CodecEncodeSelf writes the allocation as msgpack, its task states
// unpacked: the same bytes as before packing existed.
func (a *Allocation) CodecEncodeSelf(e *codec.Encoder) {
	e.MustEncode((*plainAllocation)(a.unpacked()))
}

// CodecDecodeSelf reads an allocation written by CodecEncodeSelf.
func (a *Allocation) CodecDecodeSelf(d *codec.Decoder) {
	d.MustDecode((*plainAllocation)(a))
}

// Packed task states: a uvarint count of tasks, then per task its name and
// a flags byte; unless the state is nil: State, Restarts (uvarint), the
// three times, and unless Events is nil a uvarint count of events, each a
// flags byte (nil or not) then a uvarint bitmap of its non-zero fields and
// those fields in order. Strings are a uvarint length and the bytes;
// times a kind byte (zero, UTC, Local, fixed zone) then the Unix seconds
// (zigzag), nanoseconds, and for a fixed zone its offset and name.
const (
	packStateNil = 1 << iota
	packStateFailed
	packEventsNil
)

// Time kinds.
const (
	packTimeZero = iota
	packTimeUTC
	packTimeLocal
	packTimeFixed
)

// Event fields, bit i of the bitmap for the i-th.
const (
	evType = 1 << iota
	evTime
	evDisplayMessage
	evDetails
	evMessage
	evFailsTask
	evRestartReason
	evSetupError
	evDriverError
	evExitCode
	evSignal
	evKillReason
	evKillTimeout
	evKillError
	evStartDelay
	evMessageIsDisplay // Message equals DisplayMessage (written once)
)

func packTaskStates(states map[string]*TaskState) (string, bool) {
	b := make([]byte, 0, 96)
	b = binary.AppendUvarint(b, uint64(len(states)))
	for name, ts := range states {
		b = appendPackedString(b, name)
		if ts == nil {
			b = append(b, packStateNil)
			continue
		}
		var flags byte
		if ts.Failed {
			flags |= packStateFailed
		}
		if ts.Events == nil {
			flags |= packEventsNil
		}
		b = append(b, flags)
		b = appendPackedString(b, ts.State)
		b = binary.AppendUvarint(b, ts.Restarts)
		var ok bool
		for _, t := range [...]time.Time{ts.LastRestart, ts.StartedAt, ts.FinishedAt} {
			if b, ok = appendPackedTime(b, t); !ok {
				return "", false
			}
		}
		if ts.Events == nil {
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(ts.Events)))
		for _, e := range ts.Events {
			if e == nil {
				b = append(b, 1)
				continue
			}
			b = append(b, 0)
			b = appendPackedEvent(b, e)
		}
	}
	return string(b), true
}

func appendPackedEvent(b []byte, e *TaskEvent) []byte {
	var bits packFields
	bits.set(evType, e.Type != "")
	bits.set(evTime, e.Time != 0)
	bits.set(evDisplayMessage, e.DisplayMessage != "")
	bits.set(evDetails, e.Details != nil)
	bits.set(evMessage, e.Message != "" && e.Message != e.DisplayMessage)
	bits.set(evMessageIsDisplay, e.Message != "" && e.Message == e.DisplayMessage)
	bits.set(evFailsTask, e.FailsTask)
	bits.set(evRestartReason, e.RestartReason != "")
	bits.set(evSetupError, e.SetupError != "")
	bits.set(evDriverError, e.DriverError != "")
	bits.set(evExitCode, e.ExitCode != 0)
	bits.set(evSignal, e.Signal != 0)
	bits.set(evKillReason, e.KillReason != "")
	bits.set(evKillTimeout, e.KillTimeout != 0)
	bits.set(evKillError, e.KillError != "")
	bits.set(evStartDelay, e.StartDelay != 0)
	b = binary.AppendUvarint(b, uint64(bits))
	b = bits.appendString(b, evType, e.Type)
	b = bits.appendVarint(b, evTime, e.Time)
	b = bits.appendString(b, evDisplayMessage, e.DisplayMessage)
	if bits&evDetails != 0 {
		b = binary.AppendUvarint(b, uint64(len(e.Details)))
		for k, v := range e.Details {
			b = appendPackedString(b, k)
			b = appendPackedString(b, v)
		}
	}
	b = bits.appendString(b, evMessage, e.Message)
	b = bits.appendString(b, evRestartReason, e.RestartReason)
	b = bits.appendString(b, evSetupError, e.SetupError)
	b = bits.appendString(b, evDriverError, e.DriverError)
	b = bits.appendVarint(b, evExitCode, int64(e.ExitCode))
	b = bits.appendVarint(b, evSignal, int64(e.Signal))
	b = bits.appendString(b, evKillReason, e.KillReason)
	b = bits.appendVarint(b, evKillTimeout, int64(e.KillTimeout))
	b = bits.appendString(b, evKillError, e.KillError)
	b = bits.appendVarint(b, evStartDelay, e.StartDelay)
	return b
}

// appendPackedTime appends t; it fails for a location it cannot give back
// (neither UTC, Local nor a fixed zone).
func appendPackedTime(b []byte, t time.Time) ([]byte, bool) {
	if t == (time.Time{}) {
		return append(b, packTimeZero), true
	}
	loc := t.Location()
	kind := byte(packTimeFixed)
	switch loc {
	case time.UTC:
		kind = packTimeUTC
	case time.Local:
		kind = packTimeLocal
	}
	name, offset := t.Zone()
	if kind == packTimeFixed && !reflect.DeepEqual(loc, time.FixedZone(name, offset)) {
		return b, false
	}
	b = append(b, kind)
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	if kind == packTimeFixed {
		b = binary.AppendVarint(b, int64(offset))
		b = appendPackedString(b, name)
	}
	return b, true
}

func unpackTaskStates(p string) map[string]*TaskState {
	r := packReader{s: p}
	n := r.count()
	states := make(map[string]*TaskState, n)
	for range n {
		name := r.string()
		flags := r.byte()
		if flags&packStateNil != 0 {
			states[name] = nil
			continue
		}
		ts := &TaskState{Failed: flags&packStateFailed != 0}
		ts.State = r.string()
		ts.Restarts = r.uvarint()
		ts.LastRestart, ts.StartedAt, ts.FinishedAt = r.time(), r.time(), r.time()
		if flags&packEventsNil == 0 {
			ts.Events = make([]*TaskEvent, r.count())
			for i := range ts.Events {
				if r.byte() == 0 {
					ts.Events[i] = r.event()
				}
			}
		}
		states[name] = ts
	}
	if r.bad {
		return nil // corrupt: no task states rather than wrong ones
	}
	return states
}

func (r *packReader) event() *TaskEvent {
	bits := packFields(r.uvarint())
	e := &TaskEvent{}
	r.stringIf(bits, evType, &e.Type)
	e.Time = r.varintIf(bits, evTime)
	r.stringIf(bits, evDisplayMessage, &e.DisplayMessage)
	if bits&evDetails != 0 {
		n := r.count()
		e.Details = make(map[string]string, n)
		for range n {
			k := r.string()
			e.Details[k] = r.string()
		}
	}
	r.stringIf(bits, evMessage, &e.Message)
	if bits&evMessageIsDisplay != 0 {
		e.Message = e.DisplayMessage
	}
	e.FailsTask = bits&evFailsTask != 0
	r.stringIf(bits, evRestartReason, &e.RestartReason)
	r.stringIf(bits, evSetupError, &e.SetupError)
	r.stringIf(bits, evDriverError, &e.DriverError)
	e.ExitCode = int(r.varintIf(bits, evExitCode))
	e.Signal = int(r.varintIf(bits, evSignal))
	r.stringIf(bits, evKillReason, &e.KillReason)
	e.KillTimeout = time.Duration(r.varintIf(bits, evKillTimeout))
	r.stringIf(bits, evKillError, &e.KillError)
	e.StartDelay = r.varintIf(bits, evStartDelay)
	return e
}

func (r *packReader) time() time.Time {
	kind := r.byte()
	if kind == packTimeZero {
		return time.Time{}
	}
	sec, nsec := r.varint(), r.uvarint()
	t := time.Unix(sec, int64(nsec))
	switch kind {
	case packTimeUTC:
		return t.UTC()
	case packTimeLocal:
		return t.Local()
	}
	offset := int(r.varint())
	return t.In(time.FixedZone(r.string(), offset))
}
