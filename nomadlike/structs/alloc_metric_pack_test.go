package structs

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// packCases are metrics whose score metadata PackScores must give back
// exactly: UUID node IDs and others (upper case, short), score names known
// and not, nil and empty slices, nil entries, odd floats.
func packCases() map[string]*AllocMetric {
	return map[string]*AllocMetric{
		"scheduler": {NodesEvaluated: 20, NodesInPool: 40, NodePool: "default", NodesAvailable: map[string]int{"dc1": 40},
			ScoreMetaData: []*NodeScoreMeta{
				{NodeID: "0f8fad5b-d9cb-469f-a165-70867728950e", NormScore: 0.61, Scores: NodeScores{{"binpack", 0.72}, {"job-anti-affinity", -0.5}}},
				{NodeID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", NormScore: 0.5, Scores: NodeScores{{"allocation-spread", 1}, {"binpack", 0.5},
					{"node-affinity", 0.25}, {"node-reschedule-penalty", -1}}},
			}},
		"odd ids and names": {ScoreMetaData: []*NodeScoreMeta{
			{NodeID: "0F8FAD5B-D9CB-469F-A165-70867728950E", Scores: NodeScores{{"custom", 3}}},
			{NodeID: "node-1", NormScore: math.Copysign(0, -1), Scores: NodeScores{}},
			{NodeID: "0f8fad5b-d9cb-469f-a165-70867728950x"},
			{NodeID: "0f8fad5bxd9cb-469f-a165-70867728950e", NormScore: math.SmallestNonzeroFloat64},
			{},
			nil,
		}},
		"empty":    {ScoreMetaData: []*NodeScoreMeta{}},
		"no nodes": {NodesEvaluated: 3, DimensionExhausted: map[string]int{"memory": 3}},
	}
}

// TestPackScoresKeepsEncodings: a packed metric reads back (ScoreMeta,
// Copy) and encodes in JSON and both msgpack handles to the same bytes as
// the unpacked one, and the unpacked one is not changed.
func TestPackScoresKeepsEncodings(t *testing.T) {
	// Canonical (map keys sorted): a score map of several names is written
	// in map order otherwise, which differs from one encoding to the next.
	plain := testMsgpackHandle()
	plain.Canonical = true
	handles := map[string]*codec.MsgpackHandle{"wire": WireMsgpackHandle, "plain": plain}
	for name, m := range packCases() {
		t.Run(name, func(t *testing.T) {
			orig := m.Copy()
			p := m.PackScores()
			if diff := cmp.Diff(orig, m); diff != "" {
				t.Fatalf("PackScores changed its receiver (-was +now):\n%s", diff)
			}
			if m.ScoreMetaData != nil && (p == m || p.ScoreMetaData != nil || p.packedScores == "") {
				t.Fatalf("not packed: %+v", p)
			}
			if diff := cmp.Diff(m.ScoreMetaData, p.ScoreMeta()); diff != "" {
				t.Errorf("ScoreMeta (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(m, p.Copy(), cmp.AllowUnexported(AllocMetric{})); diff != "" {
				t.Errorf("Copy of the packed metric (-want +got):\n%s", diff)
			}
			if !p.Equal(m) || !m.Equal(p) {
				t.Errorf("Equal: packed and unpacked differ")
			}
			wantJSON, err := json.Marshal((*plainAllocMetric)(m))
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, err := json.Marshal(&Allocation{Metrics: p})
			if err != nil {
				t.Fatal(err)
			}
			var wrapped struct{ Metrics json.RawMessage }
			if err := json.Unmarshal(gotJSON, &wrapped); err != nil {
				t.Fatal(err)
			}
			if string(wrapped.Metrics) != string(wantJSON) {
				t.Errorf("JSON:\n got %s\nwant %s", wrapped.Metrics, wantJSON)
			}
			for hn, h := range handles {
				var want, got []byte
				if err := codec.NewEncoderBytes(&want, h).Encode((*plainAllocMetric)(m)); err != nil {
					t.Fatal(err)
				}
				if err := codec.NewEncoderBytes(&got, h).Encode(p); err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Errorf("%s msgpack differs from the unpacked metric's", hn)
				}
				var back AllocMetric
				if err := codec.NewDecoderBytes(got, h).Decode(&back); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(m, &back, cmp.AllowUnexported(AllocMetric{})); diff != "" {
					t.Errorf("%s msgpack read back (-want +got):\n%s", hn, diff)
				}
			}
		})
	}
}

// TestPackScoresIsSmaller: the point of packing. Five nodes of two scores
// took 528 bytes of objects (a pointer slice of 48, five NodeScoreMeta of
// 48, five score slices of 48); packed, they are one string under half that.
func TestPackScoresIsSmaller(t *testing.T) {
	m := &AllocMetric{}
	for range 5 {
		m.ScoreMetaData = append(m.ScoreMetaData, &NodeScoreMeta{NodeID: GenerateUUID(), NormScore: 0.5,
			Scores: NodeScores{{"binpack", 0.5}, {"job-anti-affinity", -0.1}}})
	}
	if n := len(m.PackScores().packedScores); n > 240 {
		t.Errorf("packed score metadata of 5 nodes is %d bytes, want at most 240", n)
	}
}

// TestPackMetricsKeepsEncodings: an allocation whose metric PackMetrics
// packed whole (every field set here, nil and empty maps apart) reads it
// back (UnpackedMetrics, Copy) and encodes in JSON and both msgpack
// handles to the same bytes; a metric with ResourcesExhausted keeps its
// AllocMetric, its score metadata packed.
func TestPackMetricsKeepsEncodings(t *testing.T) {
	cases := packCases()
	cases["every field"] = &AllocMetric{NodesEvaluated: 7, NodesFiltered: -1, NodesInPool: 1 << 40, NodePool: "gpu",
		NodesAvailable: map[string]int{"dc1": 3, "dc2": 0}, ClassFiltered: map[string]int{}, ConstraintFiltered: map[string]int{"${attr.kernel.name} = linux": 2},
		NodesExhausted: 4, ClassExhausted: map[string]int{"large": 1}, DimensionExhausted: map[string]int{"memory": 4},
		QuotaExhausted: []string{"q1", ""}, Scores: map[string]float64{"n1.binpack": 0.25}, AllocationTime: 1234567,
		CoalescedFailures: 9, ScoreMetaData: []*NodeScoreMeta{{NodeID: GenerateUUID(), NormScore: 1}},
		DimensionFree: map[string]*DimensionShortfall{"memory": {Asked: 512, LargestFree: 256, Unit: "MB"}, "cpu": {Asked: 100}}}
	cases["empty slices"] = &AllocMetric{QuotaExhausted: []string{}, Scores: map[string]float64{}, DimensionFree: map[string]*DimensionShortfall{}}
	cases["resources exhausted"] = &AllocMetric{ResourcesExhausted: map[string]*Resources{"t": {CPU: 100}},
		ScoreMetaData: []*NodeScoreMeta{{NodeID: "n", NormScore: 1}}}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			before, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			a := &Allocation{ID: "a", Metrics: m}
			p := *a
			p.PackMetrics()
			if after, err := json.Marshal(m); err != nil || string(after) != string(before) {
				t.Fatalf("PackMetrics changed the metric: %s, was %s", after, before)
			}
			whole := m.ResourcesExhausted == nil
			if whole && (p.Metrics != nil || p.packedMetrics == "") || !whole && (p.Metrics == nil || p.Metrics.packedScores == "") {
				t.Fatalf("packed: Metrics %+v, %d bytes", p.Metrics, len(p.packedMetrics))
			}
			if diff := cmp.Diff(m, p.UnpackedMetrics(), cmp.AllowUnexported(AllocMetric{})); diff != "" {
				t.Errorf("UnpackedMetrics (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(m.Copy(), p.Copy().Metrics.Copy(), cmp.AllowUnexported(AllocMetric{})); diff != "" {
				t.Errorf("Copy (-want +got):\n%s", diff)
			}
			checkSameEncodings(t, a, &p)
		})
	}
}

// checkSameEncodings fails t unless packed, a version of a with something
// packed, equals it and encodes to the same bytes in JSON and in msgpack
// with the client protocol's handle and a plain canonical one.
func checkSameEncodings(t *testing.T, a, packed *Allocation) {
	t.Helper()
	if !packed.Equal(a) || !a.Equal(packed) {
		t.Errorf("Equal: packed and unpacked differ")
	}
	want, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(packed)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
	plain := testMsgpackHandle()
	plain.Canonical = true // a map of several keys is written in map order otherwise
	for hn, h := range map[string]*codec.MsgpackHandle{"wire": WireMsgpackHandle, "plain": plain} {
		var want, got []byte
		if err := codec.NewEncoderBytes(&want, h).Encode((*plainAllocation)(a)); err != nil {
			t.Fatal(err)
		}
		if err := codec.NewEncoderBytes(&got, h).Encode(packed); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s msgpack differs from the unpacked allocation's", hn)
		}
		var back Allocation
		if err := codec.NewDecoderBytes(got, h).Decode(&back); err != nil {
			t.Fatal(err)
		}
		if back.packedTaskStates != "" || back.packedMetrics != "" {
			t.Errorf("%s msgpack read back packed", hn)
		}
	}
}

// TestUnpackMetricCorrupt: a truncated packed metric reads back as nil, a
// corrupted one as nil or some metric, never a panic or an allocation beyond the
// input's size; an intact one still reads back.
func TestUnpackMetricCorrupt(t *testing.T) {
	for name, m := range packCases() {
		p, ok := packMetric(m)
		if !ok {
			t.Fatalf("%s: not packed", name)
		}
		if unpackMetric(p) == nil {
			t.Fatalf("%s: intact metric reads nil", name)
		}
		for i := range len(p) {
			if got := unpackMetric(p[:i]); got != nil {
				t.Fatalf("%s: truncated at %d reads %+v", name, i, got)
			}
			for _, c := range []byte{0x00, 0x7f, 0xff} {
				b := []byte(p)
				b[i] = c
				unpackMetric(string(b))
				unpackScoreMeta(string(b))
			}
		}
		// A huge count with nothing behind it.
		if got := unpackScoreMeta("\xff\xff\xff\xff\xff\xff\xff\xff\x7f"); got != nil {
			t.Fatalf("huge count reads %v", got)
		}
	}
}
