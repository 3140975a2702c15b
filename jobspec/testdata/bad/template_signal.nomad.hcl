job "tpl" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      template {
        data        = "x"
        destination = "local/x"
        change_mode = "signal"
      }
    }
  }
}
