job "svc" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      service {
        name = "web"
        check {
          type = "grpc"
        }
      }
    }
  }
}
