package server

import (
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestFSMPeriodicLaunchAndSnapshot(t *testing.T) {
	src := newTestFSM(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	applyEntry(t, src, 5, structs.PeriodicLaunchRequestType, &structs.PeriodicLaunchRequest{
		Launch: structs.PeriodicLaunch{ID: "cron", Namespace: "default", Launch: at}})
	applyEntry(t, src, 6, structs.PeriodicLaunchRequestType, &structs.PeriodicLaunchRequest{
		Launch: structs.PeriodicLaunch{ID: "cron", Namespace: "default", Launch: at.Add(time.Hour)}})
	l, _ := src.state.PeriodicLaunchByID(nil, "default", "cron")
	if l == nil || !l.Launch.Equal(at.Add(time.Hour)) || l.CreateIndex != 5 || l.ModifyIndex != 6 {
		t.Fatalf("launch after two entries: %+v", l)
	}
	dst := snapshotRoundTrip(t, src)
	got, _ := dst.state.PeriodicLaunchByID(nil, "default", "cron")
	if got == nil || !got.Launch.Equal(l.Launch) || got.ModifyIndex != 6 {
		t.Errorf("restored launch %+v, want %+v", got, l)
	}
	if idx, _ := dst.state.Index("periodic_launch"); idx != 6 {
		t.Errorf("restored periodic_launch index %d, want 6", idx)
	}
}
