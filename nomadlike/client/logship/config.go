// Package logship forwards tasks' stdout and stderr lines to a syslog
// server (RFC 5424, over tcp, udp, unix or unixgram) and/or an OTLP/HTTP
// logs endpoint (JSON encoding), without a sidecar (beyond Nomad: Nomad
// #1427).
//
// The client ships by tailing the rotated log files <task>.<type>.N in each
// allocation's alloc/logs (read through the allocation directory's os.Root
// accessors, so a symlink a task plants is never followed out of it): the
// task supervisor stays as it is, and a shipper that falls behind never
// slows a task. Each (task, sink) pair has a bounded queue of lines: a
// sink slower than the task is fed at its pace from the files; while it
// fails, the oldest queued lines are dropped and counted in
// nomadlike_client_log_ship_dropped_lines_total. Per task and
// stream, lines reach a sink once and in order; the position reached
// (file index and offset, per stream and sink) is saved in the client's
// state dir after every delivery, so a restarted agent resumes where it
// stopped (lines sent but not yet recorded when it died are sent again).
package logship

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is client { logs { ship { ... } } }.
type Config struct {
	// Syslog, when set, ships to a syslog server.
	Syslog *SyslogConfig
	// OTLP, when set, ships to an OTLP/HTTP logs endpoint.
	OTLP *OTLPConfig
	// QueueLines bounds each (task, sink) queue (queue_lines, 10000): the
	// lines kept, newest first, while the sink fails.
	QueueLines int
	// PollInterval is how often the log files are checked for new data
	// (250ms).
	PollInterval time.Duration
}

// SyslogConfig is the syslog block.
type SyslogConfig struct {
	// Address is "tcp://host:port", "udp://host:port", "unix:///path"
	// (stream, octet-counted as RFC 6587) or "unixgram:///path".
	Address string
	// Facility is a syslog facility name (facility, "local0").
	Facility string
	// Hostname is the HOSTNAME field (the node's name when empty).
	Hostname string
}

// OTLPConfig is the otlp block.
type OTLPConfig struct {
	// Endpoint is the logs URL, e.g. "http://127.0.0.1:4318/v1/logs".
	Endpoint string
	// Headers are added to every request (e.g. an authorization token).
	Headers map[string]string
}

// DefaultQueueLines is Config.QueueLines' default.
const DefaultQueueLines = 10000

// Enabled reports whether any sink is configured.
func (c *Config) Enabled() bool { return c != nil && (c.Syslog != nil || c.OTLP != nil) }

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Validate checks the addresses and names; errors name the key and the fix.
func (c *Config) Validate() error {
	if c.Syslog != nil {
		if _, _, err := splitAddress(c.Syslog.Address); err != nil {
			return err
		}
		if c.Syslog.Facility != "" {
			if _, ok := facilities[c.Syslog.Facility]; !ok {
				return fmt.Errorf("logs ship syslog facility = %q is not a syslog facility: use one of kern, user, daemon, local0 ... local7", c.Syslog.Facility)
			}
		}
	}
	if c.OTLP != nil {
		u, err := url.Parse(c.OTLP.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("logs ship otlp endpoint = %q must be an http(s) URL such as \"http://127.0.0.1:4318/v1/logs\"", c.OTLP.Endpoint)
		}
	}
	if c.QueueLines < 0 {
		return fmt.Errorf("logs ship queue_lines = %d must be 1 or more", c.QueueLines)
	}
	return nil
}

// splitAddress parses a syslog address into a net.Dial network and address.
func splitAddress(addr string) (network, address string, err error) {
	scheme, rest, ok := strings.Cut(addr, "://")
	if ok && rest != "" {
		switch scheme {
		case "tcp", "udp", "unix", "unixgram":
			return scheme, rest, nil
		}
	}
	return "", "", fmt.Errorf("logs ship syslog address = %q must be tcp://host:port, udp://host:port, unix:///path or unixgram:///path", addr)
}
