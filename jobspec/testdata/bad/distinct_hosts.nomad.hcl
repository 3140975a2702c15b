job "dh" {
  constraint {
    distinct_hosts = "sometimes"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
