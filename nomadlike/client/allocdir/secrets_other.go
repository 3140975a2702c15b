//go:build !linux

package allocdir

// MountSecrets is Linux only: elsewhere the secrets dir stays a directory.
func (d *AllocDir) MountSecrets(task string) (bool, string, error) {
	return false, "tmpfs secrets dirs are Linux only", nil
}

func (d *AllocDir) UnmountSecrets() error { return nil }
