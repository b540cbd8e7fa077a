// Command case-direction runs the case-direction service: `case-direction [serve]` or
// `case-direction migrate`. Configuration comes from WIJKBRUG_* environment variables or the
// matching flags (-h).
package main

import (
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/case-direction/service"
)

func main() { svc.Main(service.Spec()) }
