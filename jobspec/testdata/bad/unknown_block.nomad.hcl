job "unknown" {
  group "g" {
    tsak "t" {
      driver = "raw_exec"
    }
  }
}
