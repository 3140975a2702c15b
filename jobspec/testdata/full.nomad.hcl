job "full" {
  name        = "full-name"
  region      = "eu"
  namespace   = "prod"
  type        = "service"
  priority    = 70
  datacenters = ["dc1", "dc2"]
  node_pool   = "pool-a"
  all_at_once = true

  meta {
    owner = "team-a"
    tier  = 2
  }

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  constraint {
    attribute = "${attr.nomad.version}"
    version   = ">= 1.5"
  }

  group "web" {
    count          = 3
    shutdown_delay = "5s"
    meta = {
      group_key = "g"
    }

    constraint {
      attribute = "${meta.rack}"
      operator  = "!="
      value     = "r1"
    }

    restart {
      attempts = 4
      interval = "10m"
      delay    = "20s"
      mode     = "delay"
    }

    reschedule {
      attempts       = 5
      interval       = "1h"
      delay          = "10s"
      delay_function = "fibonacci"
      max_delay      = "2m"
      unlimited      = false
    }

    ephemeral_disk {
      size    = 500
      sticky  = true
      migrate = true
    }

    network {
      mode = "host"
      port "http" {
        static = 8080
        to     = 80
      }
      port "metrics" {}
      port "grpc" {
        to = 9090
      }
    }

    task "server" {
      driver       = "raw_exec"
      user         = "nobody"
      kill_timeout = "30s"
      kill_signal  = "SIGINT"
      leader       = true
      shutdown_delay = "3s"

      config {
        command = "/usr/bin/server"
        args    = ["-port", "${NOMAD_PORT_http}", "-v"]
        ratio   = 0.5
        workers = 4
        debug   = true
        labels = {
          app = "web"
        }
        mount {
          source = "/a"
          target = "/b"
        }
        mount {
          source = "/c"
          target = "/d"
        }
      }

      env {
        GREETING = "hello"
        PORT     = "${NOMAD_PORT_http}"
      }

      meta = {
        task_key = "t"
      }

      resources {
        cpu        = 500
        memory     = 256
        memory_max = 512
        disk       = 100
      }

      logs {
        max_files     = 3
        max_file_size = 15
      }

      constraint {
        attribute = "${node.class}"
        operator  = "regexp"
        value     = "^web-.*$"
      }

      restart {
        attempts = 1
      }
    }

    task "sidecar" {
      driver = "raw_exec"
      env = {
        MODE = "side"
      }
      config {
        command = "/bin/true"
      }
      resources {
        cores  = 2
        memory = 64
      }
    }
  }
}
