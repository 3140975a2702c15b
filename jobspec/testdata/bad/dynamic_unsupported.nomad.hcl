job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      dynamic "service" {
        for_each = ["a"]
        content {
          name = service.value
        }
      }
    }
  }
}
