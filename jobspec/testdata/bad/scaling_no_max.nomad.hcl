job "j" {
  group "g" {
    scaling {
      min = 1
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
