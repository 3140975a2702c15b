package ingress

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// tcpListener serves one TCP route's listen port.
type tcpListener struct {
	ln   net.Listener
	once sync.Once
}

func (l *tcpListener) close() { l.once.Do(func() { _ = l.ln.Close() }) }

// listenTCP opens Bind:port and proxies each connection to an instance of
// the port's route (as it is when the connection arrives).
func (g *Ingress) listenTCP(port int) (*tcpListener, error) {
	addr := net.JoinHostPort(g.cfg.Bind, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	g.logger.Info("ingress TCP route listening", "addr", ln.Addr().String())
	l := &tcpListener{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			go g.serveTCP(port, c)
		}
	}()
	return l, nil
}

func (g *Ingress) serveTCP(port int, c net.Conn) {
	defer c.Close()
	r := g.table.Load().tcp[port]
	if r == nil {
		return // the route went away
	}
	r.m.conns.Inc()
	var tried []*target
	for {
		tg := g.pick(r, tried)
		if tg == nil {
			g.logger.Warn("ingress: no instance of the TCP route accepted the connection", "route", r.key)
			return
		}
		tried = append(tried, tg)
		up, err := net.DialTimeout("tcp", tg.addr, 5*time.Second)
		if err != nil {
			r.m.upstream.Inc()
			continue
		}
		tg.served.Add(1)
		tg.active.Add(1)
		pipe(c, up)
		tg.active.Add(-1)
		return
	}
}

// pipe copies both ways until both directions end, half-closing each side
// as its peer finishes sending.
func pipe(a, b net.Conn) {
	defer b.Close()
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}
