package structs

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// oldScoreMeta is NodeScoreMeta as it was (Scores a map): what older Raft
// entries, snapshots and API clients hold.
type oldScoreMeta struct {
	NodeID    string
	Scores    map[string]float64
	NormScore float64
}

func testMsgpackHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	h.MapType = reflect.TypeOf(map[string]any(nil))
	return h
}

// TestNodeScoresWireFormat: NodeScores read and write the map the field
// was, in JSON and msgpack, both ways, nil included.
func TestNodeScoresWireFormat(t *testing.T) {
	old := []oldScoreMeta{
		{NodeID: "n1", Scores: map[string]float64{"binpack": 0.5, "job-anti-affinity": -0.25, "custom": 1}, NormScore: 0.4},
		{NodeID: "n2", NormScore: 0.1},
	}
	want := []NodeScoreMeta{
		{NodeID: "n1", Scores: NodeScores{{"binpack", 0.5}, {"custom", 1}, {"job-anti-affinity", -0.25}}, NormScore: 0.4},
		{NodeID: "n2", NormScore: 0.1},
	}
	oldJSON, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	newJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(oldJSON) != string(newJSON) {
		t.Errorf("JSON:\n got %s\nwant %s (the map's)", newJSON, oldJSON)
	}
	var fromJSON []NodeScoreMeta
	if err := json.Unmarshal(oldJSON, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, fromJSON); diff != "" {
		t.Errorf("decoded from the map's JSON (-want +got):\n%s", diff)
	}

	h := testMsgpackHandle()
	var oldMP, newMP []byte
	if err := codec.NewEncoderBytes(&oldMP, h).Encode(old); err != nil {
		t.Fatal(err)
	}
	if err := codec.NewEncoderBytes(&newMP, h).Encode(want); err != nil {
		t.Fatal(err)
	}
	var fromOld []NodeScoreMeta
	if err := codec.NewDecoderBytes(oldMP, h).Decode(&fromOld); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, fromOld); diff != "" {
		t.Errorf("decoded from the map's msgpack (-want +got):\n%s", diff)
	}
	var backToOld []oldScoreMeta
	if err := codec.NewDecoderBytes(newMP, h).Decode(&backToOld); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(old, backToOld); diff != "" {
		t.Errorf("new msgpack read as the old map (-want +got):\n%s", diff)
	}
}

func TestNodeScoresGetSet(t *testing.T) {
	var s NodeScores
	s.Set("node-affinity", 0.5)
	s.Set("binpack", 0.25)
	s.Set("node-affinity", 0.75)
	if v, ok := s.Get("node-affinity"); !ok || v != 0.75 {
		t.Errorf("Get(node-affinity) = %v, %v; want 0.75, true", v, ok)
	}
	if _, ok := s.Get("spread"); ok {
		t.Errorf("Get(spread) found a score that was never set")
	}
	if diff := cmp.Diff(NodeScores{{"binpack", 0.25}, {"node-affinity", 0.75}}, s); diff != "" {
		t.Errorf("scores not sorted by name (-want +got):\n%s", diff)
	}
	c := s.Clone()
	c.Set("binpack", 1)
	if v, _ := s.Get("binpack"); v != 0.25 {
		t.Errorf("Clone shares its scores with the original")
	}
}

// TestNodeScoresEncodeAsMap: scores written in their sorted order (or,
// unsorted, through a map) are the bytes of the map they stand for, through
// each handle (a non-canonical one in any order).
func TestNodeScoresEncodeAsMap(t *testing.T) {
	cases := []NodeScores{
		nil, {}, {{Name: "binpack", Score: 0.5}},
		NodeScoresOf(map[string]float64{"binpack": 0.5, "job-anti-affinity": -0.25, "custom": 1, "z": 0}),
		{{Name: "b", Score: 1}, {Name: "a", Score: 2}},                        // unsorted
		{{Name: "a", Score: 1}, {Name: "a", Score: 2}, {Name: "c", Score: 3}}, // a name twice
	}
	for _, s := range cases {
		for _, h := range codecHandles {
			got := encodeWith(t, h.h, s)
			want := encodeWith(t, h.h, s.Map())
			if !sameEncoding(t, h.h, got, want) {
				t.Errorf("%v, %s handle: %x, want %x", s, h.name, got, want)
			}
			var back NodeScores
			if err := codec.NewDecoderBytes(got, h.h).Decode(&back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, NodeScoresOf(s.Map())) {
				t.Errorf("%v, %s handle: decoded %v", s, h.name, back)
			}
		}
	}
}
