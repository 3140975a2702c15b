job "svc" {
  group "g" {
    service {
      name     = "web"
      provider = "consul"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
