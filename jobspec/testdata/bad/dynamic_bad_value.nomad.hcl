job "j" {
  group "g" {
    network {
      dynamic "port" {
        for_each = ["a", "b"]
        labels   = [port.value]
        content {
          static = port.value
        }
      }
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
