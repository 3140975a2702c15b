job "j" {
  group "g" {
    update {
      max_paralel = 2
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
