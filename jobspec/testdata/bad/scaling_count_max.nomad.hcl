job "j" {
  group "g" {
    count = 20
    scaling {
      min = 1
      max = 10
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
