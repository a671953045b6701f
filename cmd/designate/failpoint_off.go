//go:build !failpoints

package main

import "designate/engine"

// withFailpoints is the identity in every build but the crash tests' (see
// failpoint_on.go).
func withFailpoints(f engine.Files) engine.Files { return f }
