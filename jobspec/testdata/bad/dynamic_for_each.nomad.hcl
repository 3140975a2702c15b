job "j" {
  group "g" {
    network {
      dynamic "port" {
        for_each = 3
        labels   = ["p"]
        content {
        }
      }
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
