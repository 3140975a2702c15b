package structs

// MaxJobSubmissionBytes bounds the source and variables kept with a job
// version; a larger submission is not kept (the job is, with a warning).
const MaxJobSubmissionBytes = 1 << 20

// JobSubmission is the job's source as submitted (`job inspect -hcl`,
// GET /v1/job/{id}/submission): kept with each job version.
type JobSubmission struct {
	// Source is the job file as written (hcl2 or json).
	Source string
	// Format is "hcl2" or "json".
	Format string
	// VariableFlags are the -var arguments of the submission.
	VariableFlags map[string]string
	// Variables is the content of the variable files (opaque).
	Variables string

	// Set by the server.
	Namespace      string
	JobID          string
	Version        uint64
	JobModifyIndex uint64
}

// Size is the number of bytes the submission keeps.
func (s *JobSubmission) Size() int {
	n := len(s.Source) + len(s.Variables)
	for k, v := range s.VariableFlags {
		n += len(k) + len(v)
	}
	return n
}

// Copy returns a copy of s.
func (s *JobSubmission) Copy() *JobSubmission {
	if s == nil {
		return nil
	}
	n := *s
	if s.VariableFlags != nil {
		n.VariableFlags = make(map[string]string, len(s.VariableFlags))
		for k, v := range s.VariableFlags {
			n.VariableFlags[k] = v
		}
	}
	return &n
}

// JobVersionTag names a job version, so that it can be found and kept.
type JobVersionTag struct {
	Name        string
	Description string
	TaggedTime  int64 // unix nanoseconds
}

// Copy returns a copy of t.
func (t *JobVersionTag) Copy() *JobVersionTag {
	if t == nil {
		return nil
	}
	n := *t
	return &n
}

// Bounds of a version tag, as Nomad's.
const (
	MaxVersionTagNameLen        = 100
	MaxVersionTagDescriptionLen = 1000
)

// JobVersionTagRequest is the Raft entry of `job tag apply` (Tag set: put
// Tag on Version) and `job tag unset` (Tag nil: remove the tag Name).
type JobVersionTagRequest struct {
	Namespace string
	JobID     string
	Version   uint64
	Name      string
	Tag       *JobVersionTag
}
