package agent

import (
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// applyCluster applies the server block's cluster keys: encrypt,
// server_join (and the older retry_join / start_join directly in server),
// Raft tuning and automatic snapshots.
func (s *fileServer) applyCluster(c *Config) error {
	setStr(&c.Server.Encrypt, s.Encrypt)
	joins := []*fileServerJoin{{RetryJoin: s.RetryJoin, StartJoin: s.StartJoin, RetryMax: s.RetryMax, RetryInterval: s.RetryInterval}}
	if s.ServerJoin != nil {
		joins = append(joins, s.ServerJoin)
	}
	for _, j := range joins {
		if j.RetryJoin != nil {
			c.Server.RetryJoin = j.RetryJoin
		}
		if j.StartJoin != nil {
			c.Server.StartJoin = j.StartJoin
		}
		setInt(&c.Server.RetryMax, j.RetryMax)
		if err := setDuration(&c.Server.RetryInterval, j.RetryInterval); err != nil {
			return err
		}
	}
	setInt(&c.Server.RaftMultiplier, s.RaftMultiplier)
	setInt(&c.Server.RaftSnapshotThreshold, s.RaftSnapshotThreshold)
	setInt(&c.Server.RaftTrailingLogs, s.RaftTrailingLogs)
	setInt(&c.Server.RaftSegmentSizeMB, s.RaftSegmentSizeMB)
	if err := setDuration(&c.Server.RaftSnapshotInterval, s.RaftSnapshotInterval); err != nil {
		return err
	}
	if err := setDuration(&c.Server.FailoverHeartbeatTTL, s.FailoverHeartbeatTTL); err != nil {
		return err
	}
	if s.RaftProtocol != nil && *s.RaftProtocol != 3 {
		return fmt.Errorf("server.raft_protocol = %d: nomadlike speaks Raft protocol 3 only; remove the key or set 3", *s.RaftProtocol)
	}
	if sn := s.Snapshot; sn != nil {
		if err := setDuration(&c.Server.Snapshot.Interval, sn.Interval); err != nil {
			return err
		}
		setInt(&c.Server.Snapshot.Retain, sn.Retain)
		setStr(&c.Server.Snapshot.Path, sn.Path)
	}
	return nil
}

// validateCluster checks the server's cluster keys, each error saying what to change.
func (s *ServerConfig) validateCluster() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Encrypt != "" {
		if _, err := GossipKey(s.Encrypt); err != nil {
			bad("server.encrypt: %v", err)
		}
	}
	for _, list := range []struct {
		name  string
		addrs []string
	}{{"server_join.retry_join", s.RetryJoin}, {"server_join.start_join", s.StartJoin}} {
		for _, a := range list.addrs {
			if err := checkJoinAddr(a); err != nil {
				bad("%s: %v", list.name, err)
			}
		}
	}
	if s.RetryMax < 0 {
		bad("server_join.retry_max = %d must not be negative (0 retries forever)", s.RetryMax)
	}
	if s.RaftMultiplier < 0 || s.RaftMultiplier > 10 {
		bad("server.raft_multiplier = %d must be between 1 and 10", s.RaftMultiplier)
	}
	if s.RaftSegmentSizeMB < 0 || s.RaftSegmentSizeMB > 1024 {
		bad("server.raft_segment_size_mb = %d must be between 1 and 1024 (0 or unset: 64)", s.RaftSegmentSizeMB)
	}
	if s.RaftSnapshotThreshold < 0 || s.RaftTrailingLogs < 0 {
		bad("server.raft_snapshot_threshold and raft_trailing_logs must not be negative")
	}
	if s.Snapshot.Interval > 0 && s.Snapshot.Path == "" {
		bad("server.snapshot: interval is set but path is empty: set path to the directory for automatic snapshots")
	}
	if s.Snapshot.Retain < 0 {
		bad("server.snapshot.retain = %d must not be negative", s.Snapshot.Retain)
	}
	return errs
}

// GossipKey decodes a base64 gossip encryption key of 16, 24 or 32 bytes.
func GossipKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the key is not base64: %v (generate one with `nomadlike operator gossip keyring -generate`)", err)
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("the key decodes to %d bytes; it must be 16, 24 or 32 (generate one with `nomadlike operator gossip keyring -generate`)", len(k))
}

// checkJoinAddr accepts "host" or "host:port"; cloud auto-join strings
// ("provider=aws ...") are refused with the reason.
func checkJoinAddr(a string) error {
	a = strings.TrimSpace(a)
	switch {
	case a == "":
		return fmt.Errorf("empty address")
	case strings.Contains(a, "provider="):
		return fmt.Errorf("%q: cloud auto-join is not supported; list the servers' addresses (host or host:port)", a)
	case strings.Contains(a, "://"):
		return fmt.Errorf("%q: give host or host:port of the serf port (%d), not a URL", a, DefaultSerfPort)
	}
	if host, port, err := net.SplitHostPort(a); err == nil {
		if host == "" {
			return fmt.Errorf("%q has no host", a)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("%q: port %q is not a number between 1 and 65535", a, port)
		}
	}
	return nil
}
