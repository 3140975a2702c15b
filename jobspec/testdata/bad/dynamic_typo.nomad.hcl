job "j" {
  group "g" {
    dynamic "constrant" {
      for_each = ["a"]
      content {
        attribute = "${meta.x}"
        value     = constrant.value
      }
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
