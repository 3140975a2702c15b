job "syntax" {
  group "g" {
    count = 
  }
}
