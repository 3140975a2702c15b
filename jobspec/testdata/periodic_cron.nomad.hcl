# The deprecated single cron, disabled.
job "nightly" {
  type = "sysbatch"

  periodic {
    cron    = "*/15 * * * *"
    enabled = false
  }

  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
