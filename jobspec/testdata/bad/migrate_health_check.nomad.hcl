job "j" {
  group "g" {
    migrate {
      health_check = "manual"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
