package drivers

import (
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	cases := []struct {
		in      string
		want    syscall.Signal
		wantErr bool
	}{
		{"SIGHUP", syscall.SIGHUP, false},
		{"hup", syscall.SIGHUP, false},
		{" sigterm ", syscall.SIGTERM, false},
		{"SIGKILL", syscall.SIGKILL, false},
		{"SIGUSR1", syscall.SIGUSR1, false},
		{"9", syscall.SIGKILL, false},
		{"", 0, true},
		{"SIGNOPE", 0, true},
		{"0", 0, true},
		{"99", 0, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseSignal(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("ParseSignal(%q) error = %v, want error %v", c.in, err, c.wantErr)
			}
			if got != c.want {
				t.Errorf("ParseSignal(%q) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

func TestSignalOrDefault(t *testing.T) {
	got, err := SignalOrDefault("", syscall.SIGINT)
	if err != nil || got != syscall.SIGINT {
		t.Errorf("SignalOrDefault(\"\", SIGINT) = %v, %v; want SIGINT, nil", got, err)
	}
}
