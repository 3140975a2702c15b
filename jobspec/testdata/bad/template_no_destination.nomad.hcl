job "tpl" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      template {
        data = "x"
      }
    }
  }
}
