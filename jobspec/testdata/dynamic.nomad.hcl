# dynamic blocks generate repeated blocks from a collection, at any level:
# groups (with labels), ports, constraints, templates, driver config blocks,
# and nested inside each other.
variable "groups" {
  default = {
    api = 2
    web = 1
  }
}

variable "ports" {
  default = ["http", "grpc"]
}

locals {
  racks = ["r1", "r2"]
  mounts = [
    { source = "/srv/a", target = "/a" },
    { source = "/srv/b", target = "/b" },
  ]
}

job "dynamic" {
  dynamic "constraint" {
    for_each = local.racks
    content {
      attribute = "${meta.rack}"
      operator  = "!="
      value     = constraint.value
    }
  }

  dynamic "group" {
    for_each = var.groups
    iterator = g
    labels   = [g.key]

    content {
      count = g.value

      meta {
        role = g.key
      }

      network {
        dynamic "port" {
          for_each = var.ports
          labels   = [port.value]
          content {
            to = 8000 + port.key
          }
        }
      }

      task "app" {
        driver = "raw_exec"

        config {
          command = "/bin/sleep"
          args    = ["3600"]

          dynamic "mount" {
            for_each = local.mounts
            content {
              source = mount.value.source
              target = "${mount.value.target}/${g.key}"
            }
          }
        }

        env {
          ROLE = upper(g.key)
        }
      }
    }
  }
}
