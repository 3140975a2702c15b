// Package catalog keeps a client-side copy of the cluster's service
// catalog with one blocking query of the servers' service list: the
// built-in DNS server and the ingress answer from it, never querying the
// servers per lookup or request.
package catalog

import (
	"context"
	"log/slog"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Source reads service registrations from the servers (the client's
// service discovery link). ListServices with a wait index blocks until the
// catalog changes past it.
type Source interface {
	ListServices(ctx context.Context, namespace string, waitIndex uint64) ([]*structs.ServiceRegistrationListStub, uint64, error)
	ServiceRegistrations(ctx context.Context, namespace, name string, waitIndex uint64) ([]*structs.ServiceRegistration, uint64, error)
}

// Watch calls set with every registration in every namespace at first and
// after each change, until ctx ends. Failed reads are retried with backoff
// (set is not called meanwhile: consumers keep the last catalog).
func Watch(ctx context.Context, src Source, logger *slog.Logger, set func([]*structs.ServiceRegistration)) {
	var index uint64
	var wait time.Duration
	for ctx.Err() == nil {
		list, next, err := src.ListServices(ctx, "*", index)
		if err == nil && (next != index || index == 0) {
			var regs []*structs.ServiceRegistration
			regs, err = readAll(ctx, src, list)
			if err == nil {
				set(regs)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = min(max(2*wait, time.Second), 30*time.Second)
			logger.Warn("reading the service catalog failed; DNS answers and ingress routes may be stale until it succeeds", "retry_in", wait, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		wait = 0
		index = next
	}
}

func readAll(ctx context.Context, src Source, list []*structs.ServiceRegistrationListStub) ([]*structs.ServiceRegistration, error) {
	var out []*structs.ServiceRegistration
	for _, ns := range list {
		for _, svc := range ns.Services {
			regs, _, err := src.ServiceRegistrations(ctx, ns.Namespace, svc.ServiceName, 0)
			if err != nil {
				return nil, err
			}
			out = append(out, regs...)
		}
	}
	return out, nil
}
