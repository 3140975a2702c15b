job "svc" {
  group "g" {
    network {
      port "http" {}
    }
    service {
      name = "web"
      port = "http"
      check {
        type = "http"
        path = "/health"
      }
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
