# A service job with a job-wide update block, a group that overrides part of
# it and a group that inherits it.
job "update" {
  update {
    max_parallel     = 2
    min_healthy_time = "15s"
    auto_revert      = true
  }

  group "web" {
    count = 4

    update {
      canary           = 1
      auto_promote     = true
      health_check     = "task_states"
      healthy_deadline = "2m"
    }

    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }

  group "worker" {
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}
