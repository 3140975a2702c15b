package allocrunner

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestDispatchPayloadStaysInLocal: the payload lands in local/<file>, and
// neither a "../" file name nor a local/ the task replaced with a symlink
// to a host directory puts it outside the task dir.
func TestDispatchPayloadStaysInLocal(t *testing.T) {
	req := func(file string) *PrestartRequest {
		return &PrestartRequest{
			Task:  &structs.Task{Name: "t", DispatchPayload: &structs.DispatchPayloadConfig{File: file}},
			Alloc: &structs.Allocation{Job: &structs.Job{Payload: []byte("payload")}},
		}
	}
	taskDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (dispatchPayloadHook{}).Prestart(context.Background(), req("in/put.txt"), &PrestartResponse{TaskDir: taskDir}); err != nil {
		t.Fatalf("Prestart: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(taskDir, "local", "in", "put.txt")); err != nil || string(b) != "payload" {
		t.Errorf("local/in/put.txt = %q, %v", b, err)
	}
	if err := (dispatchPayloadHook{}).Prestart(context.Background(), req("../../escaped"), &PrestartResponse{TaskDir: taskDir}); err == nil {
		t.Error("file = ../../escaped: got nil error")
	}

	host := t.TempDir()
	if err := os.RemoveAll(filepath.Join(taskDir, "local")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(taskDir, "local")); err != nil {
		t.Fatal(err)
	}
	if err := (dispatchPayloadHook{}).Prestart(context.Background(), req("cron"), &PrestartResponse{TaskDir: taskDir}); err == nil {
		t.Error("local -> host dir: got nil error")
	}
	if _, err := os.Stat(filepath.Join(host, "cron")); err == nil {
		t.Errorf("the payload was written through local/ into %s", host)
	}
}
