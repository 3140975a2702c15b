job "j" {
  update {
    auto_promote = true
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
