# A nomadlike client: runs the tasks the servers place on it. Copy to
# /etc/nomadlike.d/client.hcl on each client node, list the servers' HTTP
# addresses, and start the agent (dist/nomadlike.service).
data_dir  = "/opt/nomadlike/data"
bind_addr = "0.0.0.0"
log_level = "INFO"

client {
  enabled = true
  servers = ["10.0.0.1:4646", "10.0.0.2:4646", "10.0.0.3:4646"]
}

# The container driver (runc, OCI images) is on by default when the agent
# runs as root. raw_exec runs tasks without isolation and is off unless
# enabled here:
#
# plugin "raw_exec" {
#   config {
#     enabled = true
#   }
# }
