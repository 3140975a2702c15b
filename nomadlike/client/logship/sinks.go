package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Line is one line of a task's output with where it came from.
type Line struct {
	Time   time.Time
	Stream string // "stdout" or "stderr"
	Text   string
	// pos is where the line ends in the stream's files.
	pos Position
}

// Position is a place in a stream's rotated files: file index and offset.
type Position struct {
	Index  int
	Offset int64
}

// sink delivers batches of one task's lines.
type sink interface {
	name() string
	send(ctx context.Context, t *Target, lines []Line) error
	close()
}

// permanentError is a delivery the sink refused for good (the batch is
// dropped and counted rather than retried forever).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }

// syslogSink writes RFC 5424 messages; on a stream transport each is
// octet-counted (RFC 6587 "LEN SP MSG"), on a datagram one per datagram.
type syslogSink struct {
	cfg      SyslogConfig
	facility int
	conn     net.Conn
}

func newSyslogSink(cfg SyslogConfig) *syslogSink {
	f, ok := facilities[cfg.Facility]
	if !ok {
		f = facilities["local0"]
	}
	return &syslogSink{cfg: cfg, facility: f}
}

func (s *syslogSink) name() string { return "syslog" }

func (s *syslogSink) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

func (s *syslogSink) stream() bool {
	network, _, _ := splitAddress(s.cfg.Address)
	return network == "tcp" || network == "unix"
}

func (s *syslogSink) send(ctx context.Context, t *Target, lines []Line) error {
	if s.conn == nil {
		network, addr, err := splitAddress(s.cfg.Address)
		if err != nil {
			return permanentError{err}
		}
		d := net.Dialer{Timeout: 10 * time.Second}
		if s.conn, err = d.DialContext(ctx, network, addr); err != nil {
			return fmt.Errorf("connect to syslog %s: %w", s.cfg.Address, err)
		}
	}
	host := s.cfg.Hostname
	if host == "" {
		host = t.NodeName
	}
	var buf bytes.Buffer
	for _, l := range lines {
		msg := FormatRFC5424(s.facility, l, host, t)
		if s.stream() {
			buf.WriteString(strconv.Itoa(len(msg)))
			buf.WriteByte(' ')
			buf.WriteString(msg)
			continue
		}
		s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := s.conn.Write([]byte(msg)); err != nil {
			s.close()
			return fmt.Errorf("write to syslog %s: %w", s.cfg.Address, err)
		}
	}
	if buf.Len() > 0 {
		s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := s.conn.Write(buf.Bytes()); err != nil {
			s.close()
			return fmt.Errorf("write to syslog %s: %w", s.cfg.Address, err)
		}
	}
	return nil
}

// FormatRFC5424 formats one line as an RFC 5424 message: severity info for
// stdout and err for stderr, APP-NAME the task, PROCID the allocation's
// short ID, MSGID the stream, and structured data
// [nomadlike@32473 alloc_id job namespace group task] (32473 is the
// documentation enterprise number of RFC 5612).
func FormatRFC5424(facility int, l Line, host string, t *Target) string {
	sev := 6
	if l.Stream == "stderr" {
		sev = 3
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s %s ", facility*8+sev, l.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		header(host, 255), header(t.Task, 48), header(shortID(t.AllocID), 128), l.Stream)
	b.WriteString("[nomadlike@32473")
	for _, kv := range [][2]string{{"alloc_id", t.AllocID}, {"job", t.JobID}, {"namespace", t.Namespace}, {"group", t.Group}, {"task", t.Task}} {
		fmt.Fprintf(&b, " %s=\"%s\"", kv[0], sdEscape(kv[1]))
	}
	b.WriteString("] ")
	b.WriteString(l.Text)
	return b.String()
}

// header makes a header field: printable US-ASCII without spaces, at most
// n characters, "-" when empty.
func header(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	if len(s) > n {
		s = s[:n]
	}
	return s
}

// sdEscape escapes a structured data parameter value (RFC 5424 6.3.3).
func sdEscape(s string) string { return sdEscaper.Replace(s) }

var sdEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`)

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// otlpSink posts OTLP/HTTP logs requests in the JSON encoding.
type otlpSink struct {
	cfg    OTLPConfig
	client *http.Client
}

func newOTLPSink(cfg OTLPConfig) *otlpSink {
	return &otlpSink{cfg: cfg, client: &http.Client{Timeout: 10 * time.Second}}
}

func (s *otlpSink) name() string { return "otlp" }
func (s *otlpSink) close()       { s.client.CloseIdleConnections() }

// OTLP JSON shapes (opentelemetry-proto logs/v1, JSON mapping).
type (
	otlpValue struct {
		StringValue string `json:"stringValue"`
	}
	otlpKV struct {
		Key   string    `json:"key"`
		Value otlpValue `json:"value"`
	}
	otlpRecord struct {
		TimeUnixNano         string    `json:"timeUnixNano"`
		ObservedTimeUnixNano string    `json:"observedTimeUnixNano"`
		SeverityNumber       int       `json:"severityNumber"`
		SeverityText         string    `json:"severityText"`
		Body                 otlpValue `json:"body"`
		Attributes           []otlpKV  `json:"attributes"`
	}
	otlpScopeLogs struct {
		Scope struct {
			Name string `json:"name"`
		} `json:"scope"`
		LogRecords []otlpRecord `json:"logRecords"`
	}
	otlpResourceLogs struct {
		Resource struct {
			Attributes []otlpKV `json:"attributes"`
		} `json:"resource"`
		ScopeLogs []otlpScopeLogs `json:"scopeLogs"`
	}
	// OTLPRequest is an ExportLogsServiceRequest.
	OTLPRequest struct {
		ResourceLogs []otlpResourceLogs `json:"resourceLogs"`
	}
)

func kv(k, v string) otlpKV { return otlpKV{Key: k, Value: otlpValue{StringValue: v}} }

func (s *otlpSink) send(ctx context.Context, t *Target, lines []Line) error {
	rl := otlpResourceLogs{}
	rl.Resource.Attributes = []otlpKV{kv("service.name", t.JobID), kv("nomad.namespace", t.Namespace),
		kv("nomad.alloc.id", t.AllocID), kv("nomad.group.name", t.Group), kv("nomad.task.name", t.Task), kv("host.name", t.NodeName)}
	sl := otlpScopeLogs{}
	sl.Scope.Name = "nomadlike/logship"
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	for _, l := range lines {
		sevN, sevT := 9, "INFO"
		if l.Stream == "stderr" {
			sevN, sevT = 17, "ERROR"
		}
		sl.LogRecords = append(sl.LogRecords, otlpRecord{
			TimeUnixNano: strconv.FormatInt(l.Time.UnixNano(), 10), ObservedTimeUnixNano: now,
			SeverityNumber: sevN, SeverityText: sevT, Body: otlpValue{StringValue: l.Text},
			Attributes: []otlpKV{kv("log.iostream", l.Stream)},
		})
	}
	rl.ScopeLogs = []otlpScopeLogs{sl}
	body, err := json.Marshal(OTLPRequest{ResourceLogs: []otlpResourceLogs{rl}})
	if err != nil {
		return permanentError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("post to OTLP endpoint %s: %w", s.cfg.Endpoint, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5:
		return fmt.Errorf("OTLP endpoint %s answered %s: %s", s.cfg.Endpoint, resp.Status, bytes.TrimSpace(msg))
	default:
		return permanentError{fmt.Errorf("OTLP endpoint %s refused the logs: %s: %s", s.cfg.Endpoint, resp.Status, bytes.TrimSpace(msg))}
	}
}
