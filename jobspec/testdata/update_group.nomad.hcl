# Only a group update block: the fields it leaves out take Nomad's defaults.
job "update-group" {
  group "web" {
    update {
      stagger           = "10s"
      progress_deadline = "15m"
    }

    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}
