job "j" {
  type = "batch"
  periodic {
    crons     = ["@daily"]
    time_zone = "Mars/Olympus_Mons"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
