job "svc" {
  group "g" {
    service {
      name = "web"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
