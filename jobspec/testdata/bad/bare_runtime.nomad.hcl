job "bare" {
  constraint {
    attribute = attr.kernel.name
    value     = "linux"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
