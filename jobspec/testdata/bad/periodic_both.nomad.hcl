job "j" {
  type = "batch"
  periodic {
    cron  = "@daily"
    crons = ["@hourly"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
