// Package fingerprint discovers what a client node has: CPU, memory, disk,
// kernel and OS, hostname and address, and each driver's health. Every probe
// is a small function that reads files under a root directory ("/" in
// production, a fixture tree in tests) and returns node attributes with
// Nomad's names (cpu.numcores, memory.totalbytes, unique.storage.bytesfree,
// kernel.name, os.name, unique.hostname, unique.network.ip-address,
// driver.<name>, ...) and the resources it found.
package fingerprint
