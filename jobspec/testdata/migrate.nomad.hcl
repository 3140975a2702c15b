# Job-wide migrate block, a group overriding it, and the two spellings of how
# long allocations of a disconnected node stay unknown.
job "migrate" {
  migrate {
    max_parallel = 2
    health_check = "task_states"
  }

  group "cache" {
    count                 = 3
    max_client_disconnect = "1h"

    migrate {
      min_healthy_time = "5s"
      healthy_deadline = "1m"
    }

    task "redis" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }

  group "db" {
    disconnect {
      lost_after = "30m"
    }

    task "pg" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}
