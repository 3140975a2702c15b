job "j" {
  group "g" {
    volume "v" {
      type   = "host"
      source = "v"
    }
    task "t" {
      driver = "container"
      volume_mount {
        volume      = "v"
        destination = "data"
      }
    }
  }
}
