job "svc" {
  group "g" {
    network {
      port "http" {}
    }
    service {
      name = "web"
      port = "htp"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
