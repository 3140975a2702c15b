package client

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/fingerprint"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Timings of the registration and heartbeat loops.
const (
	minRetry            = 500 * time.Millisecond
	maxRetry            = 30 * time.Second
	driverFingerprintIn = 30 * time.Second
	// serverCallTimeout bounds a registration or heartbeat, so a server cut
	// off by a partition is given up on and the next one tried.
	serverCallTimeout = 10 * time.Second
)

// backoff doubles d up to maxRetry.
func backoff(d time.Duration) time.Duration {
	if d < minRetry {
		return minRetry
	}
	return min(2*d, maxRetry)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// heartbeatInterval is about half the TTL, less up to 10% jitter.
func heartbeatInterval(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = structs.DefaultHeartbeatTTL
	}
	half := ttl / 2
	return half - time.Duration(rand.Int64N(int64(half/10)+1))
}

// register registers the node until it succeeds or ctx ends, logging every
// failure with the server and the cause. It returns the heartbeat TTL.
func (c *Client) register(ctx context.Context) (time.Duration, bool) {
	var wait time.Duration
	for attempt := 1; ; attempt++ {
		s := c.server()
		callCtx, cancel := context.WithTimeout(ctx, serverCallTimeout)
		reg := s
		if c.cfg.IntroToken != "" {
			reg = s.WithToken(c.cfg.IntroToken)
		}
		resp, err := reg.RegisterNode(callCtx, c.Node())
		cancel()
		if err == nil {
			c.cfg.Logger.Info("node registered", "server", s.Address(), "heartbeat_ttl", resp.HeartbeatTTL)
			c.updateServers(resp.Servers)
			c.registeredOnce.Do(func() { close(c.registered) })
			return resp.HeartbeatTTL, true
		}
		if ctx.Err() != nil {
			return 0, false
		}
		wait = backoff(wait)
		c.cfg.Logger.Error("node registration failed; the node cannot receive work until it registers",
			"server", s.Address(), "attempt", attempt, "retry_in", wait, "error", err)
		c.serverFailed(s)
		if !sleep(ctx, wait) {
			return 0, false
		}
	}
}

// registerLoop registers, then heartbeats at about half the TTL; a 404 (the
// server lost the node) or a re-registration request from the fingerprint
// loop makes it register again.
func (c *Client) registerLoop(ctx context.Context) {
	ttl, ok := c.register(ctx)
	if !ok {
		return
	}
	var failWait time.Duration
	next := heartbeatInterval(ttl)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.reregisterCh():
			if ttl, ok = c.register(ctx); !ok {
				return
			}
			next = heartbeatInterval(ttl)
			continue
		case <-time.After(next):
		}
		s := c.server()
		callCtx, cancel := context.WithTimeout(ctx, serverCallTimeout)
		resp, err := s.Heartbeat(callCtx, c.NodeID())
		cancel()
		switch {
		case err == nil:
			failWait = 0
			ttl = resp.HeartbeatTTL
			c.updateServers(resp.Servers)
			next = heartbeatInterval(ttl)
		case ctx.Err() != nil:
			return
		case api.IsNotFound(err):
			c.cfg.Logger.Warn("server does not know this node (404 on heartbeat); registering again", "server", s.Address())
			if ttl, ok = c.register(ctx); !ok {
				return
			}
			next = heartbeatInterval(ttl)
		default:
			failWait = backoff(failWait)
			next = min(failWait, heartbeatInterval(ttl))
			c.cfg.Logger.Error("heartbeat failed; the node will be marked down if this persists past the TTL",
				"server", s.Address(), "ttl", ttl, "retry_in", next, "error", err)
			c.serverFailed(s)
		}
	}
}

// reregisterCh returns the channel the fingerprint loop signals on.
func (c *Client) reregisterCh() <-chan struct{} { return c.reregister }

// fingerprintLoop re-fingerprints the drivers every 30 s and asks for a
// re-registration when a driver's detection or health changes.
func (c *Client) fingerprintLoop(ctx context.Context) {
	t := time.NewTicker(driverFingerprintIn)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.refingerprintDrivers(ctx) {
			select {
			case c.reregister <- struct{}{}:
			default: // a re-registration is already pending
			}
		}
	}
}

// refingerprintDrivers updates the node's drivers and reports a health change.
func (c *Client) refingerprintDrivers(ctx context.Context) bool {
	infos, attrs := fingerprint.Drivers(ctx, c.cfg.Drivers)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fingerprint.DriversChanged(c.node.Drivers, infos) {
		return false
	}
	n := c.node.Copy()
	for name := range n.Drivers {
		for k := range n.Attributes {
			if k == "driver."+name || strings.HasPrefix(k, "driver."+name+".") {
				delete(n.Attributes, k)
			}
		}
	}
	for k, v := range attrs {
		n.Attributes[k] = v
	}
	n.Drivers = infos
	for name, info := range infos {
		c.cfg.Logger.Info("driver health changed", "driver", name, "detected", info.Detected, "healthy", info.Healthy, "description", info.HealthDescription)
	}
	c.node = n
	return true
}
