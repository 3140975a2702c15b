job "files" {
  group "web" {
    scaling {
      min     = 2
      max     = 10
      enabled = false
      policy {
        cooldown = "1m"
      }
    }

    volume "data" {
      type      = "host"
      source    = "shared-data"
      read_only = true
    }

    volume "scratch" {
      type   = "host"
      source = "scratch"
    }

    task "app" {
      driver = "container"
      config {
        image = "busybox"
      }

      volume_mount {
        volume      = "data"
        destination = "/data"
        read_only   = true
      }

      volume_mount {
        volume           = "scratch"
        destination      = "/scratch"
        propagation_mode = "host-to-task"
      }
    }
  }
}
