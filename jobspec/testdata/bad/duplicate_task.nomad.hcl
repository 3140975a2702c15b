job "dup" {
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
