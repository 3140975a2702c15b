job "val" {
  type = "daemon"
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
