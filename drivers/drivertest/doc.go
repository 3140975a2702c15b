// Package drivertest holds helpers shared by driver tests: the TestMain hook
// that lets a test binary act as the task supervisor, a TaskConfig built in a
// temporary allocation directory laid out as the client lays it out, and
// deadline-bounded waits on files and processes.
package drivertest
