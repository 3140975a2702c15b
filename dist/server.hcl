# A nomadlike server (one of three). Copy to /etc/nomadlike.d/server.hcl on
# each server, set retry_join to the servers' addresses, and start the
# agent (dist/nomadlike.service). A single-server cluster sets
# bootstrap_expect = 1 and needs no retry_join.
data_dir  = "/opt/nomadlike/data"
bind_addr = "0.0.0.0"
log_level = "INFO"

server {
  enabled          = true
  bootstrap_expect = 3

  server_join {
    retry_join = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
  }
}

# To run tasks on the servers too, enable a client here (see client.hcl).
client {
  enabled = false
}

# Production clusters add TLS and ACLs: see "Running securely" in README.md.
