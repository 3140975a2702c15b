job "op" {
  constraint {
    attribute = "${attr.kernel.name}"
    operator  = "=~"
    value     = "linux"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
