job "j" {
  group "g" {
    max_client_disconnect = "1h"
    disconnect {
      lost_after = "2h"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
