job "dp" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      dispatch_payload {
        file = "../../../etc/passwd"
      }
    }
  }
}
