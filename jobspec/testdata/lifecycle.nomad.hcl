job "lifecycle" {
  type = "batch"

  group "app" {
    task "init" {
      driver = "raw_exec"
      lifecycle {
        hook = "prestart"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo ready > ${NOMAD_ALLOC_DIR}/ready"]
      }
    }

    task "proxy" {
      driver = "raw_exec"
      lifecycle {
        hook    = "prestart"
        sidecar = true
      }
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }

    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/cat"
        args    = ["local/app.conf"]
      }
      dispatch_payload {
        file = "input/payload.txt"
      }
      template {
        data        = <<EOT
alloc = {{ env "NOMAD_ALLOC_ID" }}
node  = {{ env "node.unique.name" }}
dir   = ${NOMAD_TASK_DIR}
EOT
        destination = "local/app.conf"
      }
      template {
        source          = "local/env.tpl"
        destination     = "secrets/app.env"
        env             = true
        change_mode     = "signal"
        change_signal   = "sighup"
        splay           = "10s"
        perms           = "0600"
        uid             = 1000
        gid             = 1000
        left_delimiter  = "[["
        right_delimiter = "]]"
        error_on_missing_key = true
        wait {
          min = "2s"
          max = "10s"
        }
      }
    }

    task "cleanup" {
      driver = "raw_exec"
      lifecycle {
        hook = "poststop"
      }
      config {
        command = "/bin/true"
      }
    }
  }
}
