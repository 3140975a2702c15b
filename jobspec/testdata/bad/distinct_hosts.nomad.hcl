job "dh" {
  constraint {
    distinct_hosts = true
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
