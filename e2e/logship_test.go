package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/octetcounting"
	"github.com/leodido/go-syslog/v4/rfc5424"
)

// logShipLines is how many numbered lines the task writes to each stream.
const logShipLines = 300

const logShipJob = `
job "e2e-logship" {
  type = "batch"
  group "g" {
    task "talker" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "i=1; while [ $i -le %d ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done"]
      }
      env {
        E2E_RUN = "%s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// shipped collects the lines a test sink received, by stream.
type shipped struct {
	mu    sync.Mutex
	lines map[string][]string
	bad   []string
}

func (s *shipped) add(stream, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lines == nil {
		s.lines = map[string][]string{}
	}
	s.lines[stream] = append(s.lines[stream], text)
}

// complete reports whether both streams arrived whole, once each and in
// order, and what is wrong otherwise.
func (s *shipped) complete() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bad) > 0 {
		return false, "unexpected: " + strings.Join(s.bad, "; ")
	}
	for _, stream := range []string{"stdout", "stderr"} {
		prefix := map[string]string{"stdout": "out", "stderr": "err"}[stream]
		var want []string
		for i := 1; i <= logShipLines; i++ {
			want = append(want, fmt.Sprintf("%s %d", prefix, i))
		}
		if got := s.lines[stream]; !slices.Equal(got, want) {
			return false, fmt.Sprintf("%s: %d of %d lines (first %q)", stream, len(got), logShipLines, head(got))
		}
	}
	return true, ""
}

func head(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// TestLogShipSyslogAndOTLP runs a batch task that writes numbered lines to
// stdout and stderr on a client shipping to a syslog server (RFC 5424,
// octet-counted over TCP, parsed with leodido/go-syslog) and to an
// OTLP/HTTP receiver: each sink gets every line once, in order per stream,
// with the task's identity; the agent's metrics count the shipped lines.
func TestLogShipSyslogAndOTLP(t *testing.T) {
	killLeftovers(t)
	var sys, otlp shipped

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				octetcounting.NewParser(syslog.WithListener(func(r *syslog.Result) {
					if r.Error != nil {
						sys.mu.Lock()
						sys.bad = append(sys.bad, "parse: "+r.Error.Error())
						sys.mu.Unlock()
						return
					}
					m := r.Message.(*rfc5424.SyslogMessage)
					if m.Appname == nil || *m.Appname != "talker" || m.MsgID == nil || m.Message == nil {
						sys.mu.Lock()
						sys.bad = append(sys.bad, fmt.Sprintf("message without app name talker, msgid or text: %+v", m))
						sys.mu.Unlock()
						return
					}
					sd := *m.StructuredData
					if sd["nomadlike@32473"]["job"] != "e2e-logship" {
						sys.mu.Lock()
						sys.bad = append(sys.bad, fmt.Sprintf("structured data %v", sd))
						sys.mu.Unlock()
					}
					sys.add(*m.MsgID, *m.Message)
				})).Parse(conn)
			}()
		}
	}()

	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ResourceLogs []struct {
				Resource struct {
					Attributes []struct {
						Key   string
						Value struct{ StringValue string }
					}
				}
				ScopeLogs []struct {
					LogRecords []struct {
						Body       struct{ StringValue string }
						Attributes []struct {
							Key   string
							Value struct{ StringValue string }
						}
					}
				}
			}
		}
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/logs" || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &req) != nil {
			otlp.mu.Lock()
			otlp.bad = append(otlp.bad, fmt.Sprintf("request %s %s: %.200s", r.URL.Path, r.Header.Get("Content-Type"), b))
			otlp.mu.Unlock()
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, rec := range sl.LogRecords {
					stream := ""
					for _, a := range rec.Attributes {
						if a.Key == "log.iostream" {
							stream = a.Value.StringValue
						}
					}
					otlp.add(stream, rec.Body.StringValue)
				}
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()

	a := startAgent(t, agentOpts{clientExtra: fmt.Sprintf(`
  logs {
    ship {
      syslog { address = "tcp://%s" }
      otlp   { endpoint = "%s/v1/logs" }
    }
  }`, ln.Addr(), recv.URL)})
	dir := t.TempDir()
	jobFile := filepath.Join(dir, "logship.nomad.hcl")
	if err := os.WriteFile(jobFile, []byte(fmt.Sprintf(logShipJob, logShipLines, runToken)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := a.cli(dir, "job", "run", jobFile); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	waitFor(t, time.Minute, "the syslog server to receive every line once, in order", sys.complete)
	waitFor(t, time.Minute, "the OTLP receiver to receive every line once, in order", otlp.complete)

	for _, sink := range []string{"syslog", "otlp"} {
		want := fmt.Sprintf(`nomadlike_client_log_ship_lines_total{sink=%q} %d`, sink, 2*logShipLines)
		waitFor(t, 30*time.Second, "the metrics to count the lines shipped to "+sink, func() (bool, string) {
			prom, err := httpGet(a.addr + "/v1/metrics?format=prometheus")
			return err == nil && strings.Contains(prom, want), fmt.Sprintf("want %s (%v)", want, err)
		})
	}
}
