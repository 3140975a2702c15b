job "types" {
  group "g" {
    count = "three"
    task "t" {
      driver = "raw_exec"
    }
  }
}
