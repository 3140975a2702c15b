job "dur" {
  group "g" {
    task "t" {
      driver       = "raw_exec"
      kill_timeout = "10 parsecs"
    }
  }
}
