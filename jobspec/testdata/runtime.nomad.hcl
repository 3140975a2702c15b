job "runtime" {
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  constraint {
    attribute = "${attr.unique.network.ip-address}"
    operator  = "is_set"
  }

  group "g" {
    network {
      port "http" {}
    }

    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = [
          "-c",
          "echo ${NOMAD_ALLOC_ID} on ${node.unique.name} at ${NOMAD_ADDR_http} in ${meta.rack}",
        ]
      }
      env {
        LISTEN  = "0.0.0.0:${NOMAD_PORT_http}"
        HOMEDIR = "${HOME}/data"
        ESCAPED = "$${not_resolved}"
        DC      = "${node.datacenter}"
        KEY     = "${NOMAD_META_my-key}"
      }
    }
  }
}
