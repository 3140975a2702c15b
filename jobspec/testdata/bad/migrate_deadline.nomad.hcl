job "j" {
  migrate {
    min_healthy_time = "10m"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
