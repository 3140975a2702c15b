job "j" {
  group "g" {
    update {
      min_healthy_time = "10m"
      healthy_deadline = "5m"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
