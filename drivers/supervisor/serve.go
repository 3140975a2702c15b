package supervisor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// requestReadTimeout bounds how long a client may take to send its request.
const requestReadTimeout = 10 * time.Second

// serve accepts control connections until ln is closed.
func (p *proc) serve(ln *net.UnixListener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.log.Error("accept control connection", "error", err)
			}
			return
		}
		p.handlers.Add(1)
		go func() {
			defer p.handlers.Done()
			defer conn.Close()
			p.handle(conn)
		}()
	}
}

// handle answers one request on conn.
func (p *proc) handle(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(requestReadTimeout))
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			p.log.Debug("control connection closed before a request")
		} else {
			p.log.Warn("read control request", "error", err)
		}
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		p.reply(conn, response{Error: fmt.Sprintf("decode request: %v", err)}, false)
		return
	}
	switch req.Op {
	case opPing:
		p.reply(conn, p.status().response(), false)
	case opWait:
		<-p.done
		p.reply(conn, p.status().response(), true)
	case opStop:
		sig := syscall.Signal(req.Signal)
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		p.log.Info("stop requested", "signal", sig, "timeout", req.Timeout)
		p.stop(sig, req.Timeout)
		<-p.done
		p.reply(conn, p.status().response(), true)
	case opSignal:
		resp := p.status().response()
		select {
		case <-p.exited:
			resp.Error = "task has already exited"
		default:
			if p.workload != nil {
				if err := p.workload.Signal(syscall.Signal(req.Signal)); err != nil {
					resp.Error = fmt.Sprintf("send signal %d to the workload: %v", req.Signal, err)
				}
			} else if err := syscall.Kill(p.pid, syscall.Signal(req.Signal)); err != nil {
				resp.Error = fmt.Sprintf("send signal %d to pid %d: %v", req.Signal, p.pid, err)
			}
		}
		p.reply(conn, resp, false)
	default:
		p.reply(conn, response{Error: fmt.Sprintf("unknown operation %q", req.Op)}, false)
	}
}

// reply writes resp; final marks a delivered exit result.
func (p *proc) reply(conn net.Conn, resp response, final bool) {
	if err := json.NewEncoder(conn).Encode(resp); err != nil {
		p.log.Warn("write control reply", "error", err)
		return
	}
	if final {
		p.deliveredOnce.Do(func() { close(p.delivered) })
	}
}
