job "j" {
  type = "batch"
  periodic {
    prohibit_overlap = true
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
