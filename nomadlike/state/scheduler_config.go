package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableSchedulerConfig holds at most one row: the operator's scheduler
// configuration. Absent means the defaults.
const tableSchedulerConfig = "scheduler_config"

// schedulerConfigTableSchema is the singleton table: every row indexes to
// the same key, so an insert replaces the one row.
func schedulerConfigTableSchema() *memdb.TableSchema {
	return tableSchema(tableSchedulerConfig, &memdb.IndexSchema{
		Name:    indexID,
		Unique:  true,
		Indexer: &memdb.ConditionalIndex{Conditional: func(any) (bool, error) { return true, nil }},
	})
}

// SchedulerConfig returns the operator's scheduler configuration, or nil
// when none was set (the scheduler then uses structs.DefaultSchedulerConfig).
// The result is the caller's own copy.
func (s *reader) SchedulerConfig() (*structs.SchedulerConfig, error) {
	_, c, err := s.WatchSchedulerConfig(nil)
	return c, err
}

// WatchSchedulerConfig is SchedulerConfig for blocking queries: it adds the
// row to ws and also returns the table's modify index.
func (s *reader) WatchSchedulerConfig(ws memdb.WatchSet) (uint64, *structs.SchedulerConfig, error) {
	txn := s.readTxn()
	raw, err := first(txn, ws, tableSchedulerConfig, indexID)
	if err != nil {
		return 0, nil, err
	}
	idx, err := tableIndexOf(txn, nil, tableSchedulerConfig)
	if err != nil {
		return 0, nil, err
	}
	c, _ := raw.(*structs.SchedulerConfig)
	return idx, c.Copy(), nil
}

// SetSchedulerConfig stores config at index, keeping the CreateIndex of the
// stored one. It is stored unless cas is set and the stored configuration's
// ModifyIndex (0 when none is stored) is not casIndex; it reports whether it
// was stored. An invalid config is a 400 CodedError.
func (s *Store) SetSchedulerConfig(index uint64, config *structs.SchedulerConfig, cas bool, casIndex uint64) (bool, error) {
	if config == nil {
		return false, structs.NewBadRequest("state: set scheduler config at index %d: config is nil", index)
	}
	res, err := s.SchedulerSetConfig(index, &structs.SchedulerSetConfigRequest{Config: *config, CAS: cas, Index: casIndex})
	if err != nil {
		return false, err
	}
	for _, c := range res.Changes {
		if c.Table == tableSchedulerConfig {
			return true, nil
		}
	}
	return false, nil
}

// SchedulerSetConfig applies a SchedulerConfigRequestType entry, as
// SetSchedulerConfig; a CAS entry whose index no longer matches changes
// nothing.
func (s *Store) SchedulerSetConfig(index uint64, req *structs.SchedulerSetConfigRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: set scheduler config at index %d: request is nil", index)
	}
	if err := req.Config.Validate(); err != nil {
		return Result{}, &structs.CodedError{Code: 400, Msg: "scheduler configuration is invalid", Err: err}
	}
	return s.write(index, func(txn *memdb.Txn) error {
		raw, err := first(txn, nil, tableSchedulerConfig, indexID)
		if err != nil {
			return err
		}
		existing, _ := raw.(*structs.SchedulerConfig)
		if req.CAS {
			var cur uint64
			if existing != nil {
				cur = existing.ModifyIndex
			}
			if cur != req.Index {
				return nil
			}
		}
		c := req.Config.Copy()
		c.CreateIndex = index
		if existing != nil {
			c.CreateIndex = existing.CreateIndex
		}
		c.ModifyIndex = index
		if err := txn.Insert(tableSchedulerConfig, c); err != nil {
			return fmt.Errorf("state: insert scheduler config: %w", err)
		}
		return setIndex(txn, tableSchedulerConfig, index)
	})
}
