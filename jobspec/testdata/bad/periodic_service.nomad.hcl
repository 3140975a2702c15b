job "j" {
  periodic {
    crons = ["@daily"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
