job "j" {
  group "g" {
    volume "v" {
      type = "host"
    }
    task "t" {
      driver = "container"
    }
  }
}
