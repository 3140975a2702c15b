package logship

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc5424"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
)

// memSink records what it is sent; while block is set it fails.
type memSink struct {
	mu    sync.Mutex
	lines []Line
	block atomic.Bool
}

func (m *memSink) name() string { return "mem" }
func (m *memSink) close()       {}
func (m *memSink) send(ctx context.Context, _ *Target, lines []Line) error {
	if m.block.Load() {
		return fmt.Errorf("sink down")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, lines...)
	return nil
}

func (m *memSink) texts(stream string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, l := range m.lines {
		if l.Stream == stream {
			out = append(out, l.Text)
		}
	}
	return out
}

func newTestShipper(t *testing.T, queue int) *Shipper {
	t.Helper()
	s, err := New(Config{OTLP: &OTLPConfig{Endpoint: "http://127.0.0.1:1/v1/logs"}, QueueLines: queue, PollInterval: 5 * time.Millisecond},
		t.TempDir(), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testTarget(t *testing.T, done *atomic.Bool) *Target {
	t.Helper()
	d := allocdir.New(t.TempDir(), "a1")
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	return &Target{AllocID: "a1", JobID: "j", Namespace: "default", Group: "g", Task: "web", Dir: d, Done: done.Load}
}

func writeLog(t *testing.T, tg *Target, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(tg.Dir.LogDir(), name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Lines spanning a rotation arrive whole and in order; a restarted
// shipper resumes after what was delivered.
func TestShipAcrossRotationAndResume(t *testing.T) {
	s := newTestShipper(t, 100)
	var done atomic.Bool
	tg := testTarget(t, &done)
	writeLog(t, tg, "web.stdout.0", "one\ntw")
	writeLog(t, tg, "web.stdout.1", "o\nthree\n")
	writeLog(t, tg, "web.stderr.0", "oops\n")
	done.Store(true)
	sk := &memSink{}
	s.runSink(context.Background(), tg, sk)
	if got := strings.Join(sk.texts("stdout"), "|"); got != "one|two|three" {
		t.Errorf("stdout lines = %q, want one|two|three", got)
	}
	if got := strings.Join(sk.texts("stderr"), "|"); got != "oops" {
		t.Errorf("stderr lines = %q", got)
	}
	// More output, then a new shipper on the same state: only the new line.
	f, _ := os.OpenFile(filepath.Join(tg.Dir.LogDir(), "web.stdout.1"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("four\n")
	f.Close()
	sk2 := &memSink{}
	s.runSink(context.Background(), tg, sk2)
	if got := strings.Join(sk2.texts("stdout"), "|"); got != "four" {
		t.Errorf("after a restart, stdout lines = %q, want only \"four\"", got)
	}
	if got := sk2.texts("stderr"); len(got) != 0 {
		t.Errorf("after a restart, stderr lines = %q, want none", got)
	}
}

// While the sink fails, the tailing goes on: the queue keeps the newest
// lines and counts the dropped ones.
func TestShipSlowSinkDropsOldest(t *testing.T) {
	s := newTestShipper(t, 10)
	var done atomic.Bool
	tg := testTarget(t, &done)
	var b strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	writeLog(t, tg, "web.stdout.0", b.String())
	sk := &memSink{}
	sk.block.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	finished := make(chan struct{})
	go func() { s.runSink(ctx, tg, sk); close(finished) }()
	dropped := s.dropped.WithLabelValues("mem")
	deadline := time.Now().Add(10 * time.Second)
	// The sender holds whatever it took first; of the rest, only the
	// newest 10 fit the queue.
	for testutil.ToFloat64(dropped) < 80 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done.Store(true)
	sk.block.Store(false)
	<-finished
	got := sk.texts("stdout")
	n := int(testutil.ToFloat64(dropped))
	if n < 80 || len(got)+n != 100 || got[len(got)-1] != "line 100" {
		t.Fatalf("dropped %d, delivered %d ending %q; want at least 80 dropped, the rest delivered up to line 100", n, len(got), got[len(got)-1])
	}
	prev := 0
	for _, l := range got {
		var i int
		fmt.Sscanf(l, "line %d", &i)
		if i <= prev {
			t.Fatalf("delivered out of order or twice: %q", got)
		}
		prev = i
	}
}

// FormatRFC5424 output parses as RFC 5424 with the task's identity.
func TestFormatRFC5424Parses(t *testing.T) {
	tg := &Target{AllocID: "0123456789abcdef", JobID: `we"b]`, Namespace: "default", Group: "g", Task: "my task"}
	msg := FormatRFC5424(16, Line{Time: time.Unix(1700000000, 0), Stream: "stderr", Text: "boom ünïcode"}, "node 1", tg)
	m, err := rfc5424.NewParser().Parse([]byte(msg))
	if err != nil {
		t.Fatalf("parse %q: %v", msg, err)
	}
	sm := m.(*rfc5424.SyslogMessage)
	if *sm.Priority != 16*8+3 || *sm.Appname != "my_task" || *sm.Hostname != "node_1" || *sm.ProcID != "01234567" ||
		*sm.MsgID != "stderr" || *sm.Message != "boom ünïcode" || (*sm.StructuredData)["nomadlike@32473"]["job"] != `we"b]` {
		t.Errorf("parsed %q as %+v", msg, sm)
	}
}

// Over UDP each line is one datagram holding one RFC 5424 message.
func TestShipSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := newTestShipper(t, 100)
	var done atomic.Bool
	tg := testTarget(t, &done)
	writeLog(t, tg, "web.stdout.0", "a\nb\n")
	done.Store(true)
	s.runSink(context.Background(), tg, newSyslogSink(SyslogConfig{Address: "udp://" + pc.LocalAddr().String(), Facility: "daemon"}))
	buf := make([]byte, 2048)
	for _, want := range []string{"a", "b"} {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		m, err := rfc5424.NewParser().Parse(buf[:n])
		if err != nil {
			t.Fatalf("parse %q: %v", buf[:n], err)
		}
		sm := m.(*rfc5424.SyslogMessage)
		if *sm.Message != want || *sm.Priority != 3*8+6 {
			t.Errorf("datagram %q: message %q priority %d, want %q and %d", buf[:n], *sm.Message, *sm.Priority, want, 3*8+6)
		}
	}
}

// BenchmarkShipSyslogTCP measures lines shipped per second from a task's
// log file to a syslog server over loopback TCP.
func BenchmarkShipSyslogTCP(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	s, err := New(Config{Syslog: &SyslogConfig{Address: "tcp://" + ln.Addr().String()}, PollInterval: time.Millisecond},
		b.TempDir(), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	d := allocdir.New(b.TempDir(), "a1")
	if err := d.Build(); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(&sb, "2026-12-07T00:00:00Z INFO request served path=/api/v1/items/%d status=200 duration=1.2ms\n", i)
	}
	if err := os.WriteFile(filepath.Join(d.LogDir(), "web.stdout.0"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	tg := &Target{AllocID: "a1", JobID: "j", Namespace: "default", Group: "g", Task: "web", Dir: d, Done: func() bool { return true }}
	b.ResetTimer()
	s.runSink(context.Background(), tg, newSyslogSink(*s.cfg.Syslog))
	b.StopTimer()
	if got := testutil.ToFloat64(s.shipped.WithLabelValues("syslog")); got != float64(b.N) {
		b.Fatalf("shipped %v lines, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
