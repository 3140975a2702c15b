job "j" {
  type = "batch"
  periodic {
    crons = ["@daily"]
  }
  parameterized {
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
