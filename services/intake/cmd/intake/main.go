// Command intake runs the intake service: `intake [serve]` or `intake migrate`.
// Configuration comes from WIJKBRUG_* environment variables or the matching flags (-h).
package main

import (
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/intake/service"
)

func main() { svc.Main(service.Spec()) }
