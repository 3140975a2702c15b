package client

import (
	"context"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/fingerprint"
)

// driverFingerprintIn is how often drivers are fingerprinted again.
const driverFingerprintIn = 30 * time.Second

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
		c.refingerprintDrivers(ctx)
	}
}

// refingerprintDrivers registers the node again with its drivers updated
// when a driver's detection or health changed.
func (c *Client) refingerprintDrivers(ctx context.Context) {
	infos, attrs := fingerprint.Drivers(ctx, c.cfg.Drivers)
	c.nodeMu.Lock()
	defer c.nodeMu.Unlock()
	n := c.sess.Node()
	if !fingerprint.DriversChanged(n.Drivers, infos) {
		return
	}
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
	c.sess.SetNode(n) // registers it again
}
