job "val" {
  group "g" {
    restart {
      attempts = 10
      delay    = "1m"
      interval = "5m"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
