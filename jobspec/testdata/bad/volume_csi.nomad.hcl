job "j" {
  group "g" {
    volume "v" {
      type   = "csi"
      source = "ebs"
    }
    task "t" {
      driver = "container"
    }
  }
}
