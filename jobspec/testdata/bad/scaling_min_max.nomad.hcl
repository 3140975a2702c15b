job "j" {
  group "g" {
    scaling {
      min = 5
      max = 2
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
