job "j" {
  group "g" {
    max_client_disconnect = "an hour"
    task "t" {
      driver = "raw_exec"
    }
  }
}
