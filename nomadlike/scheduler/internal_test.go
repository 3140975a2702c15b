package scheduler

import (
	"math/rand"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestNextDelay(t *testing.T) {
	ev := func(ds ...time.Duration) *structs.RescheduleTracker {
		tr := &structs.RescheduleTracker{}
		for _, d := range ds {
			tr.Events = append(tr.Events, &structs.RescheduleEvent{Delay: d})
		}
		return tr
	}
	s := time.Second
	for _, tc := range []struct {
		name    string
		fn      string
		max     time.Duration
		tracker *structs.RescheduleTracker
		want    time.Duration
	}{
		{"constant first", "constant", 0, nil, 5 * s},
		{"constant later", "constant", 0, ev(5*s, 5*s), 5 * s},
		{"exponential first", "exponential", 0, nil, 5 * s},
		{"exponential doubles", "exponential", 0, ev(5*s, 10*s), 20 * s},
		{"exponential capped", "exponential", 15 * s, ev(10 * s), 15 * s},
		{"fibonacci first", "fibonacci", 0, nil, 5 * s},
		{"fibonacci second", "fibonacci", 0, ev(5 * s), 5 * s},
		{"fibonacci sums", "fibonacci", 0, ev(5*s, 5*s, 10*s), 15 * s},
		{"fibonacci capped", "fibonacci", 12 * s, ev(5*s, 10*s), 12 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &structs.ReschedulePolicy{Delay: 5 * s, DelayFunction: tc.fn, MaxDelay: tc.max, Unlimited: true}
			if got := nextDelay(p, tc.tracker); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRescheduleEligible(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) *structs.RescheduleEvent {
		return &structs.RescheduleEvent{RescheduleTime: now.Add(-ago).UnixNano()}
	}
	for _, tc := range []struct {
		name    string
		policy  *structs.ReschedulePolicy
		tracker *structs.RescheduleTracker
		want    bool
	}{
		{"nil policy", nil, nil, false},
		{"unlimited", &structs.ReschedulePolicy{Unlimited: true}, &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{at(0), at(0)}}, true},
		{"zero attempts", &structs.ReschedulePolicy{Interval: time.Hour}, nil, false},
		{"first attempt", &structs.ReschedulePolicy{Attempts: 1, Interval: time.Hour}, nil, true},
		{"attempts used in interval", &structs.ReschedulePolicy{Attempts: 1, Interval: time.Hour}, &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{at(time.Minute)}}, false},
		{"attempt outside interval", &structs.ReschedulePolicy{Attempts: 1, Interval: time.Hour}, &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{at(2 * time.Hour)}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rescheduleEligible(tc.policy, tc.tracker, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckOrder(t *testing.T) {
	for _, tc := range []struct {
		op, l, r string
		want     bool
	}{
		{"<", "9", "10", true},     // numeric, not lexical
		{"<", "b", "a", false},     // lexical
		{">=", "1.5", "1.5", true}, // float
		{">", "abc", "abd", false},
		{"<=", "2", "2.0", true},
	} {
		t.Run(tc.l+tc.op+tc.r, func(t *testing.T) {
			if got := checkOrder(tc.op, tc.l, tc.r); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScoreFitBinPack(t *testing.T) {
	capacity := structs.ComparableResources{CPU: 1000, MemoryMB: 1000}
	for _, tc := range []struct {
		name string
		used structs.ComparableResources
		want float64
	}{
		{"empty", structs.ComparableResources{}, 0},
		{"full", capacity, 18},
		{"half", structs.ComparableResources{CPU: 500, MemoryMB: 500}, 20 - 2*3.1622776601683795},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scoreFitBinPack(capacity, tc.used); got-tc.want > 1e-9 || tc.want-got > 1e-9 {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewSchedulerRejectsUnknownType(t *testing.T) {
	_, err := NewScheduler("quantum", nil, nil, nil, nil, nil)
	if err == nil {
		t.Fatal("got no error for job type quantum, want one")
	}
}

// TestPickDynamicRange: the only run long enough is found wherever the
// random start falls, and none is found when no run is long enough.
func TestPickDynamicRange(t *testing.T) {
	// Free: 100-104 and 110-119 in [100, 119].
	free := func(p int) bool { return (p >= 100 && p <= 104) || (p >= 110 && p <= 119) }
	for seed := range int64(50) {
		rng := rand.New(rand.NewSource(seed))
		got, ok := pickDynamicRange(100, 119, 8, free, rng)
		if !ok || got < 110 || got > 112 {
			t.Fatalf("seed %d: got %d, %v; want a first port in 110-112", seed, got, ok)
		}
		if got, ok := pickDynamicRange(100, 119, 11, free, rng); ok {
			t.Fatalf("seed %d: got %d for a range of 11, want none", seed, got)
		}
		if got, ok := pickDynamicRange(100, 119, 5, func(p int) bool { return p >= 100 && p <= 104 }, rng); !ok || got != 100 {
			t.Fatalf("seed %d: got %d, %v; want 100 (the run at the low end)", seed, got, ok)
		}
	}
	if _, ok := pickDynamicRange(100, 103, 5, func(int) bool { return true }, rand.New(rand.NewSource(1))); ok {
		t.Error("a range of 5 fit in 4 ports")
	}
}

// TestMissingHostNetworkReason: the feasibility check and the port
// assignment give a node without a port's host network the same reason
// (the assignment's with its "network: " dimension).
func TestMissingHostNetworkReason(t *testing.T) {
	tg := &structs.TaskGroup{Name: "web", Networks: []*structs.NetworkResource{{
		DynamicPorts: []structs.Port{{Label: "pub", HostNetwork: "public"}}}}}
	node := &structs.Node{ID: "n1", NodeResources: &structs.NodeResources{}}
	ok, fit := hostNetworksFit(tg, node)
	if ok || fit != `missing host network "public" for port "pub"` {
		t.Fatalf("hostNetworksFit = %v, %q", ok, fit)
	}
	offer, why := assignPorts(node, &nodeUsage{node: node}, newNetworkAsk(tg), nil, rand.New(rand.NewSource(1)))
	if offer != nil || why != "network: "+fit {
		t.Fatalf("assignPorts = %v, %q; want the reason %q", offer, why, "network: "+fit)
	}
}
