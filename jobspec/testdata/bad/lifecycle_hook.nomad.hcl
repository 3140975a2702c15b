job "lc" {
  group "g" {
    task "init" {
      driver = "raw_exec"
      lifecycle {
        hook = "prestrat"
      }
    }
    task "main" {
      driver = "raw_exec"
    }
  }
}
