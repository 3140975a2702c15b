job "lc" {
  group "g" {
    task "post" {
      driver = "raw_exec"
      lifecycle {
        hook    = "poststop"
        sidecar = true
      }
    }
    task "main" {
      driver = "raw_exec"
    }
  }
}
