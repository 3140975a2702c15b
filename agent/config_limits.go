package agent

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of the limits block (LimitsConfig's zero values mean these).
const (
	// DefaultHTTPReadHeaderTimeout bounds reading a request's headers.
	DefaultHTTPReadHeaderTimeout = 10 * time.Second
	// DefaultHTTPReadTimeout bounds reading a whole request, body included
	// (a slow-body client is cut off); streaming replies are not bound by it.
	DefaultHTTPReadTimeout = time.Minute
	// DefaultHTTPIdleTimeout closes kept-alive connections idle this long
	// (longer than Go's and the Nomad client's 90 s, so clients close first).
	DefaultHTTPIdleTimeout = 2 * time.Minute
	// DefaultHTTPMaxLongPollsPerClient bounds the blocking queries and
	// streams (event stream, log follow, exec) one remote IP holds at once.
	DefaultHTTPMaxLongPollsPerClient = 100
)

// LimitsConfig is the agent's limits block. Zero values mean the defaults
// above; nomadlike adds the http_* timeouts and the long-poll limit to the
// keys Nomad knows (which it accepts so Nomad configs load unchanged).
type LimitsConfig struct {
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	HTTPIdleTimeout       time.Duration
	// HTTPMaxLongPollsPerClient: a further blocking query or stream from
	// the same IP is refused with 429 while this many are open.
	HTTPMaxLongPollsPerClient int
	// HTTPAllowedHosts are further names (beyond IPs, localhost and the
	// agent's own names) by which browsers may reach the API, e.g. the name
	// of a reverse proxy in front of the UI (http_origin.go).
	HTTPAllowedHosts []string
}

// effective returns l with defaults filled in.
func (l LimitsConfig) effective() LimitsConfig {
	if l.HTTPReadHeaderTimeout <= 0 {
		l.HTTPReadHeaderTimeout = DefaultHTTPReadHeaderTimeout
	}
	if l.HTTPReadTimeout <= 0 {
		l.HTTPReadTimeout = DefaultHTTPReadTimeout
	}
	if l.HTTPIdleTimeout <= 0 {
		l.HTTPIdleTimeout = DefaultHTTPIdleTimeout
	}
	if l.HTTPMaxLongPollsPerClient <= 0 {
		l.HTTPMaxLongPollsPerClient = DefaultHTTPMaxLongPollsPerClient
	}
	return l
}

// fileLimits is the limits block as written.
type fileLimits struct {
	HTTPReadHeaderTimeout     hcl.Expression `hcl:"http_read_header_timeout,optional"`
	HTTPReadTimeout           hcl.Expression `hcl:"http_read_timeout,optional"`
	HTTPIdleTimeout           hcl.Expression `hcl:"http_idle_timeout,optional"`
	HTTPMaxLongPollsPerClient *int           `hcl:"http_max_long_polls_per_client,optional"`
	HTTPAllowedHosts          []string       `hcl:"http_allowed_hosts,optional"`
	// Nomad's keys, accepted and not used.
	HTTPSHandshakeTimeout hcl.Expression `hcl:"https_handshake_timeout,optional"`
	HTTPMaxConnsPerClient *int           `hcl:"http_max_conns_per_client,optional"`
	RPCHandshakeTimeout   hcl.Expression `hcl:"rpc_handshake_timeout,optional"`
	RPCMaxConnsPerClient  *int           `hcl:"rpc_max_conns_per_client,optional"`
}

func (fl *fileLimits) apply(c *Config) error {
	if fl == nil {
		return nil
	}
	for _, d := range []struct {
		to   *time.Duration
		expr hcl.Expression
	}{
		{&c.Limits.HTTPReadHeaderTimeout, fl.HTTPReadHeaderTimeout},
		{&c.Limits.HTTPReadTimeout, fl.HTTPReadTimeout},
		{&c.Limits.HTTPIdleTimeout, fl.HTTPIdleTimeout},
	} {
		if err := setDuration(d.to, d.expr); err != nil {
			return fmt.Errorf("limits: %w", err)
		}
	}
	setInt(&c.Limits.HTTPMaxLongPollsPerClient, fl.HTTPMaxLongPollsPerClient)
	if fl.HTTPAllowedHosts != nil {
		c.Limits.HTTPAllowedHosts = fl.HTTPAllowedHosts
	}
	if c.Limits.HTTPMaxLongPollsPerClient < 0 {
		return fmt.Errorf("limits: http_max_long_polls_per_client = %d must not be negative (0 means the default, %d)", c.Limits.HTTPMaxLongPollsPerClient, DefaultHTTPMaxLongPollsPerClient)
	}
	return nil
}
