job "report" {
  type = "batch"

  periodic {
    crons            = ["0 3 * * *", "@weekly"]
    prohibit_overlap = true
    time_zone        = "Europe/Paris"
  }

  group "report" {
    task "run" {
      driver = "raw_exec"
      config {
        command = "/bin/date"
      }
    }
  }
}
