// Package container is the container task driver: it runs a task from an
// OCI image in its own mount, PID, UTS and IPC namespaces (sharing the
// host's network and the allocated ports), in cgroups that enforce its
// memory (hard limit, memory_max when set) and CPU (shares; a CFS quota with
// cpu_hard_limit), with libcontainer (runc) and images read with
// go-containerregistry. Its config keys are those of Nomad's docker driver
// (image, command, args, entrypoint, ports, volumes, hostname, work_dir,
// user, cap_add, cap_drop, readonly_rootfs, force_pull, cpu_hard_limit,
// cpu_cfs_period), so a docker job needs only driver = "container".
//
// # Images
//
// config.image is a registry reference (pulled with credentials from the
// docker config file; a tag other than latest is reused from the cache
// without contacting the registry), oci-layout:///dir[:tag|@digest],
// oci-archive:///file.tar[:tag], docker-archive:///file.tar[:repo:tag] or
// rootfs:///dir (a plain directory used as the only lower layer). Local
// images are read only from the directories the client allows with
// plugin "container" { config { image_paths = [...] } } (none by default:
// rootfs:///root would make any host directory a container's root); the
// path is judged with its symlinks resolved, and read from there. Layers are
// unpacked once into a content-addressed cache, <data_dir>/container/layers/
// <diffid>, with whiteouts converted to overlayfs form; each task mounts an
// overlayfs of those layers with its own upper and work dirs (in its state
// dir), never a copy. Tasks lease the images they use; with image_gc an image
// unused for image_gc_delay is removed when a task starts or is destroyed.
// The image's Entrypoint, Cmd, Env, WorkingDir and User apply as in Docker.
//
// # How a container outlives the agent
//
// The driver reuses the task supervisor (package supervisor) through its
// Workload hook: the supervisor spec names the "container" workload kind
// (registered by this package's init) and carries a workloadConfig (the OCI
// runtime spec, the overlay dirs, the user). The supervisor process, not the
// agent:
//
//	agent ──StartTask──▶ supervisor (nomadlike __supervise) ──libcontainer──▶ nomadlike init ─exec─▶ task
//	                        │ mounts the overlay rootfs           (container init, PID 1 in the task's
//	                        │ owns the stdout/stderr pipes         namespaces, a child of the supervisor)
//	                        │ → size-rotated log files
//	                        └ control socket, status.json
//
// so logs keep flowing and the exit is recorded while the agent is down,
// and a restarted agent re-attaches with RecoverTask exactly as raw_exec
// does. libcontainer re-executes the binary as "<argv0> init": main (and
// this package's TestMain) must call libcontainer.Init for that argument and
// link the nsenter package. Stopping sends kill_signal to the container's
// init (the kernel delivers it only if init handles it, as with Docker),
// then SIGKILL after kill_timeout, which ends the whole PID namespace. After
// the exit the supervisor reads the memory cgroup's OOM kill count (an OOM
// kill is reported in ExitResult.OOMKilled, with a message naming the limit,
// and noted in the task's stderr log), destroys the container and its
// cgroups, and unmounts the root filesystem.
//
// # Volumes
//
// config.volumes sources are relative to the task dir. One inside the
// allocation dir is resolved when the container is mounted, by the
// supervisor, with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS) from the
// allocation dir, so a symlink a task planted there (say, to /) is refused
// rather than followed; the pinned result is staged in the task's private
// state dir and bound from there (volumes.go says why this is race-free).
// Any other source is a host path, refused unless the client sets Nomad's
// volumes { enabled = true } (off by default).
//
// Containers get Docker's default capabilities without NET_RAW (as Nomad's
// docker driver; they share the host's network), cap_add limited to the
// plugin's allow_caps, no_new_privileges, a process limit (the plugin's
// pids_limit, DefaultPidsLimit unless set; a task's pids_limit may lower
// it), runc's default masked and read-only paths and minimal /dev, /alloc,
// /local and /secrets bound from the allocation, and the host's
// /etc/resolv.conf and /etc/hosts. A default seccomp profile is applied
// only when the binary is built with libseccomp (build tag seccomp; `make
// build` adds it when pkg-config finds libseccomp, which
// scripts/test-deps.sh installs); the fingerprint attribute
// driver.container.seccomp says which, and in a build without it every task
// starts with a warning (in its stderr log and TaskHandle.Warnings).
//
// The host's cgroup layout is libcontainer's choice (cgroups.go): cgroup v2
// when /sys/fs/cgroup is a cgroup2 mount, else v1 (a hybrid host, such as
// this project's CI, is v1); the fingerprint requires the memory
// controller in either, and OOM kills are counted from memory.oom_control
// (v1) or memory.events (v2).
//
// # Stats and exec
//
// TaskStats reads the container's cgroups through libcontainer (memory
// usage, max usage, RSS, cache, swap; CPU usage and throttling). ExecTask
// runs a command inside the container (libcontainer's setns process in its
// namespaces and cgroups, with its capabilities, environment, working dir and
// user); with a TTY the process creates its own terminal and sends the
// master back over a console socket. Both load the container from the state
// the supervisor keeps, from the agent's process.
package container
