package agent

import (
	"fmt"
	"math"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/client/logship"
)

// fileLogsRetention is the client's logs_retention block (beyond Nomad):
// the tail of a garbage collected allocation's task logs stays readable.
//
//	client {
//	  logs_retention {
//	    enabled = true   # default
//	    max_mb  = 100    # the whole retention area, MiB
//	    max_age = "24h"  # after the allocation's collection
//	  }
//	}
type fileLogsRetention struct {
	Enabled *bool          `hcl:"enabled,optional"`
	MaxMB   hcl.Expression `hcl:"max_mb,optional"`
	MaxAge  hcl.Expression `hcl:"max_age,optional"`
}

// applyLogsRetention applies the client block's logs_retention block.
func (cl *fileClient) applyLogsRetention(c *Config) error {
	fl := cl.LogsRetention
	if fl == nil {
		return nil
	}
	r := &c.Client.LogsRetention
	if fl.Enabled != nil {
		r.Disabled = !*fl.Enabled
	}
	if v, ok, err := numberAttr(fl.MaxMB, "max_mb"); err != nil {
		return err
	} else if ok {
		if v < 1 || v != math.Trunc(v) || v > math.MaxInt32 {
			return fmt.Errorf("%s: logs_retention max_mb = %v must be a whole number of MiB, 1 or more (to keep nothing, set enabled = false)", loc(fl.MaxMB.Range()), v)
		}
		r.MaxMB = int(v)
	}
	return setDuration(&r.MaxAge, fl.MaxAge)
}

// fileLogs is the client's logs block (beyond Nomad: Nomad #1427): ship
// forwards every task's stdout and stderr lines without a sidecar.
//
//	client {
//	  logs {
//	    ship {
//	      syslog { address = "tcp://127.0.0.1:514"  facility = "local0" }  # RFC 5424; tcp, udp, unix, unixgram
//	      otlp   { endpoint = "http://127.0.0.1:4318/v1/logs" }           # OTLP/HTTP, JSON encoding
//	      queue_lines = 10000  # per task and sink; while a sink fails, the oldest are dropped
//	    }
//	  }
//	}
type fileLogs struct {
	Ship *fileLogShip `hcl:"ship,block"`
}

type fileLogShip struct {
	Syslog *struct {
		Address  string  `hcl:"address"`
		Facility *string `hcl:"facility,optional"`
		Hostname *string `hcl:"hostname,optional"`
	} `hcl:"syslog,block"`
	OTLP *struct {
		Endpoint string            `hcl:"endpoint"`
		Headers  map[string]string `hcl:"headers,optional"`
	} `hcl:"otlp,block"`
	QueueLines *int `hcl:"queue_lines,optional"`
	// Remain locates the block in errors.
	Remain hcl.Body `hcl:",remain"`
}

// applyLogShip applies the client block's logs { ship } block; a later file
// replaces what an earlier one set.
func (cl *fileClient) applyLogShip(c *Config) error {
	if cl.Logs == nil || cl.Logs.Ship == nil {
		return nil
	}
	fs := cl.Logs.Ship
	cfg := &logship.Config{}
	if s := fs.Syslog; s != nil {
		cfg.Syslog = &logship.SyslogConfig{Address: s.Address}
		if s.Facility != nil {
			cfg.Syslog.Facility = *s.Facility
		}
		if s.Hostname != nil {
			cfg.Syslog.Hostname = *s.Hostname
		}
	}
	if o := fs.OTLP; o != nil {
		cfg.OTLP = &logship.OTLPConfig{Endpoint: o.Endpoint, Headers: o.Headers}
	}
	setInt(&cfg.QueueLines, fs.QueueLines)
	where := loc(fs.Remain.MissingItemRange())
	if !cfg.Enabled() {
		return fmt.Errorf("%s: logs ship needs a syslog { address = \"tcp://host:514\" } or an otlp { endpoint = \"http://host:4318/v1/logs\" } block", where)
	}
	if cfg.QueueLines == 0 && fs.QueueLines != nil {
		return fmt.Errorf("%s: logs ship queue_lines = 0 must be 1 or more", where)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	c.Client.LogShip = cfg
	return nil
}
