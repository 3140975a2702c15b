job "j" {
  type = "batch"
  periodic {
    crons = ["@daily", "61 * * * *"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
