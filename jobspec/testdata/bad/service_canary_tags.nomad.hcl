job "svc" {
  group "g" {
    network {
      port "http" {}
    }
    service {
      name        = "web"
      port        = "http"
      canary_tags = ["canary"]
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
