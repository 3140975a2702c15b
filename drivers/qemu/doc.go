// Package qemu is the qemu task driver: it runs a virtual machine with
// qemu-system-x86_64 as the task's workload, as Nomad's qemu driver does,
// under a task supervisor (package supervisor) so the VM outlives the client
// agent and its serial console lands in the task's rotated stdout log.
//
// Task config keys (Nomad's, plus direct kernel boot):
//
//	image_path        a qcow2 or raw disk image (format detected from its header)
//	drive_interface   how the disk is attached: ide (default), virtio, scsi, ...
//	kernel, initrd    direct kernel boot instead of (or besides) a disk image
//	kernel_args       the kernel command line (with kernel)
//	accelerator       "kvm" or "tcg"; default: kvm when the node's KVM probe
//	                  passed and the node is not itself a VM, tcg otherwise
//	port_map          { label = guest port }: user-mode networking forwards the
//	                  allocated host port of each label to the guest port
//	args              extra qemu arguments, each flag allowed by the client's
//	                  args_allowlist
//	graceful_shutdown stop with an ACPI power-down over QMP, then kill after
//	                  the task's kill_timeout
//
// Images, kernels and initrds are read from the task dir (relative paths are
// relative to it; symlinks are resolved before the check) or from host
// directories the client allows with
// plugin "qemu" { config { image_paths = ["/srv/vm-images"] } }.
//
// Memory comes from resources.memory, vCPUs from resources.cores (1 when
// unset). QEMU runs with -nographic and the first serial port on stdio, and
// with a QMP socket, qmp.sock in the task dir, which it creates relative to
// its working dir (the task dir) so a long task dir path never exceeds the
// 108-byte limit of unix socket paths.
//
// Fingerprint attributes: driver.qemu, driver.qemu.version, driver.qemu.kvm
// ("true" when /dev/kvm opened, answered KVM_GET_API_VERSION 12, created a
// VM and ran a one-instruction guest to its HLT) and driver.qemu.accelerator
// (the default the driver picks). On a host that is itself a VM the device
// probe is not enough (a paravirtual KVM runs the one-instruction guest but
// hangs a real one in early boot), so the default there is tcg, and the
// first task that asks for kvm makes the driver boot a host kernel under
// KVM (kvmboot.go) and refuse kvm, with a task event, when no kernel banner
// appears; driver.qemu.kvm then turns "false".
//
// Disk images are checked before QEMU runs: an empty file, a qcow2 header
// of an unknown version, and images in formats the driver does not pass
// through (vmdk, vdi, vhd, vhdx, qed, qcow v1) are refused with the
// qemu-img command that converts them. A task user other than the client's
// own is refused: QEMU runs as the client agent's user.
//
// TaskStats reports the QEMU process's resident memory and CPU use from
// /proc (supervisor.CPUTracker.TreeStats, as raw_exec).
package qemu
