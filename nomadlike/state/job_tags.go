package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobVersionTag applies a JobVersionTagRequestType entry, in one
// transaction: with req.Tag it tags version req.Version (a 404 for an
// unknown job or version; a 400 when another version has the name); without,
// it removes the tag named req.Name (a 404 when no version has it). The
// job's current version, when tagged, changes in the jobs table too.
func (s *Store) JobVersionTag(index uint64, req *structs.JobVersionTagRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: tag job version at index %d: request is nil", index)
	}
	ns := objectNamespace(req.Namespace)
	return s.write(index, func(txn *memdb.Txn) error {
		versions, err := jobVersionsTxn(txn, nil, ns, req.JobID)
		if err != nil {
			return err
		}
		if len(versions) == 0 {
			return structs.NewNotFound("job %q not found in namespace %q", req.JobID, ns)
		}
		name := req.Name
		if req.Tag != nil {
			name = req.Tag.Name
		}
		var target *structs.Job
		for _, v := range versions {
			switch {
			case req.Tag == nil && v.VersionTag != nil && v.VersionTag.Name == name:
				target = v
			case req.Tag != nil && v.Version == req.Version:
				target = v
			case req.Tag != nil && v.VersionTag != nil && v.VersionTag.Name == name:
				return structs.NewBadRequest("tag %q already exists on version %d of job %q; unset it first (DELETE /v1/job/%s/versions/%s/tag)", name, v.Version, req.JobID, req.JobID, name)
			}
		}
		if target == nil {
			if req.Tag == nil {
				return structs.NewNotFound("no version of job %q has the tag %q", req.JobID, name)
			}
			return structs.NewNotFound("job %q has no version %d (GET /v1/job/%s/versions lists them)", req.JobID, req.Version, req.JobID)
		}
		n := target.Copy()
		n.VersionTag = req.Tag.Copy()
		if err := txn.Insert(tableJobVersion, n); err != nil {
			return fmt.Errorf("state: tag version %d of job %q: %w", n.Version, req.JobID, err)
		}
		if err := setIndex(txn, tableJobVersion, index); err != nil {
			return err
		}
		cur, err := jobByIDTxn(txn, nil, ns, req.JobID)
		if err != nil || cur == nil || cur.Version != n.Version {
			return err
		}
		c := cur.Copy()
		c.VersionTag = req.Tag.Copy()
		c.ModifyIndex = index
		if err := txn.Insert(tableJobs, c); err != nil {
			return fmt.Errorf("state: tag job %q: %w", req.JobID, err)
		}
		return setIndex(txn, tableJobs, index)
	})
}
