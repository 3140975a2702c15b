job "empty" {
  group "lonely" {
    count = 1
  }
}
