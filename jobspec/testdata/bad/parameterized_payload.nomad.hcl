job "j" {
  type = "batch"
  parameterized {
    payload = "maybe"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
