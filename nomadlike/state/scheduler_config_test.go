package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestSchedulerConfig(t *testing.T) {
	st, err := NewStore()
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.SchedulerConfig()
	if err != nil || got != nil {
		t.Fatalf("SchedulerConfig of an empty store = %v, %v; want nil (the defaults)", got, err)
	}
	spread := &structs.SchedulerConfig{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread,
		PreemptionConfig: structs.PreemptionConfig{ServiceSchedulerEnabled: true}}
	steps := []struct {
		name        string
		index       uint64
		config      *structs.SchedulerConfig
		cas         bool
		casIndex    uint64
		wantUpdated bool
		wantErr     string
		wantCreate  uint64
		wantModify  uint64
	}{
		{name: "first write", index: 5, config: spread, wantUpdated: true, wantCreate: 5, wantModify: 5},
		{name: "cas with a stale index", index: 6, config: spread, cas: true, casIndex: 1, wantCreate: 5, wantModify: 5},
		{name: "cas with the current index", index: 7, config: spread, cas: true, casIndex: 5, wantUpdated: true, wantCreate: 5, wantModify: 7},
		{name: "invalid algorithm", index: 8, config: &structs.SchedulerConfig{SchedulerAlgorithm: "random"}, wantErr: `unknown algorithm "random"`, wantCreate: 5, wantModify: 7},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			updated, err := st.SetSchedulerConfig(step.index, step.config, step.cas, step.casIndex)
			if step.wantErr != "" {
				var ce *structs.CodedError
				if !errors.As(err, &ce) || ce.Code != 400 || !strings.Contains(err.Error(), step.wantErr) {
					t.Fatalf("error = %v, want a 400 containing %q", err, step.wantErr)
				}
			} else if err != nil {
				t.Fatalf("SetSchedulerConfig: %v", err)
			}
			if updated != step.wantUpdated {
				t.Errorf("updated = %t, want %t", updated, step.wantUpdated)
			}
			idx, got, err := st.WatchSchedulerConfig(nil)
			if err != nil {
				t.Fatal(err)
			}
			want := spread.Copy()
			want.CreateIndex, want.ModifyIndex = step.wantCreate, step.wantModify
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("stored config (-want +got):\n%s", diff)
			}
			if idx != step.wantModify {
				t.Errorf("table index = %d, want %d", idx, step.wantModify)
			}
		})
	}
	// A snapshot restore carries the row over.
	snap, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c, err := snap.SchedulerConfig()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewStore()
	r, err := other.NewRestore()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Row(tableSchedulerConfig, c); err != nil {
		t.Fatal(err)
	}
	if err := r.IndexRestore(tableSchedulerConfig, c.ModifyIndex); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	restored, err := other.SchedulerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, restored); diff != "" {
		t.Errorf("restored config (-want +got):\n%s", diff)
	}
}
