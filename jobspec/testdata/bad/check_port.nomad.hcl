job "svc" {
  group "g" {
    network {
      port "http" {}
    }
    task "t" {
      driver = "raw_exec"
      service {
        name = "web"
        port = "http"
        check {
          type     = "tcp"
          port     = "admin"
          interval = "5s"
          timeout  = "1s"
        }
      }
    }
  }
}
