job "j" {
  update {
    health_check = "http"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
