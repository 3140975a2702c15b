job "j" {
  group "g" {
    disconnect {
      lost_after = "2h"
      replace    = true
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
