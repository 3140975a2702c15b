package drivers

// MountConfig is one host path mounted into a task, from a volume_mount of
// a group host volume (Nomad's drivers.MountConfig).
type MountConfig struct {
	// TaskPath is the absolute path inside the task.
	TaskPath string
	// HostPath is the host volume's path on this client.
	HostPath string
	// Readonly is set when the host volume, the group's volume block or the
	// task's volume_mount asks for read-only.
	Readonly bool
	// PropagationMode is "private" (or ""), "host-to-task" or "bidirectional".
	PropagationMode string
}

// MountDriver is implemented by drivers that can mount host volumes into
// their tasks (Nomad's MountConfigSupportAll). The client fails a task with
// volume mounts whose driver lacks it, as Nomad does: raw_exec tasks see
// the host's file system as it is, and qemu guests have no such mounts.
type MountDriver interface {
	// SupportsMounts reports whether TaskConfig.Mounts are honoured.
	SupportsMounts() bool
}
